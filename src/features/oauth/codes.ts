import type { Ctx } from "../../platform/context";
import { randomToken, sha256Hex } from "../../platform/crypto";
import { insertSingleUse } from "../../platform/single-use";

// The authorization code: what `/oauth/authorize` hands the client and `/oauth/token` takes
// back (RFC 6749 §4.1). It is a single-use row (src/platform/single-use.ts) of purpose
// `oauth_code`: the random code goes to the client, only its SHA-256 is stored, the row
// belongs to the user, lives `OAUTH_CODE_TTL` and is consumed by one conditional UPDATE.
// A second use finds the row used and revokes the grant that began with it (sessions with
// `code_id` = the row's id, RFC 6749 §4.1.2).

/** The code row's `data` (JSON): everything the token request is checked against. */
export type AuthorizationCodeData = {
  client_id: string;
  /** Exactly as the authorization request sent it (RFC 6749 §4.1.3). */
  redirect_uri: string;
  /** PKCE S256 challenge (RFC 7636 §4.2); the token request's verifier must match it. */
  code_challenge: string;
  /** Granted scopes, space-separated, sorted. */
  scope: string;
  /** The resource indicator asked for (RFC 8707), when one was. */
  resource?: string;
  /** The request's `nonce`, when it had one (then the id_token carries it; never `null`). */
  nonce?: string;
  /** When the person authenticated, epoch seconds (OpenID Connect `auth_time`). */
  auth_time: number;
  /** How they authenticated (RFC 8176), e.g. `["pwd","otp","mfa"]`. */
  amr: string[];
};

/**
 * A new authorization code for `userId`: `value` (32 random bytes, base64url) goes to the
 * client in the redirect; `insert` records its SHA-256 as a single-use `oauth_code` row
 * living `OAUTH_CODE_TTL` (batch it); `id` is the row's id, which the grant's session rows
 * keep as `code_id` so that a second use of the code can revoke them.
 */
export async function mintAuthorizationCode(
  ctx: Pick<Ctx, "db" | "now" | "config">,
  userId: string,
  data: AuthorizationCodeData,
) {
  const { db, now, config } = ctx;
  const id = crypto.randomUUID();
  const value = randomToken();
  const insert = insertSingleUse(db, {
    id,
    tokenHash: await sha256Hex(value),
    purpose: "oauth_code",
    userId,
    target: data.client_id,
    data: JSON.stringify(data),
    createdAt: now,
    expiresAt: new Date(now.getTime() + config.oauth.codeTtlSeconds * 1000),
  });
  return { id, value, insert };
}
