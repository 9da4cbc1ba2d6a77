import { findGrantToken, revokeCodeGrant, rotateGrant, startGrant } from "../../identity/oauth-grants";
import { signAccessToken, signIdToken } from "../../identity/oauth-tokens";
import type { Ctx } from "../../platform/context";
import { base64url, equalInConstantTime, sha256 } from "../../platform/crypto";
import { singleUseHash } from "../../platform/single-use";
import { markClientUsed, type OAuthClient } from "./clients";
import type { AuthorizationCodeData } from "./codes";
import { OAuthError } from "./errors";
import { OIDC_SCOPES, parseScope } from "./scopes";
import { findCode, redeemCode } from "./token-queries";

// The three grants of POST /oauth/token (RFC 6749 §4.1.3, §6, §4.4), each checked to the
// letter and answered as RFC 6749 §5.1 says. Grants of people start and rotate through the
// identity core (src/identity/oauth-grants.ts); this file never writes a session row.

/** The successful token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3). */
export type TokenResponse = {
  access_token: string;
  token_type: "Bearer";
  /** Seconds (`OAUTH_ACCESS_TTL`). */
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
};

/** The token request's parameters, each once (RFC 6749 §3.2). */
export type TokenForm = Record<string, string>;

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function required(form: TokenForm, name: string): string {
  const value = form[name];
  if (value === undefined || value === "") throw new OAuthError("invalid_request", `${name} is required`);
  return value;
}

function mayUse(client: OAuthClient, grantType: string) {
  if (!client.grantTypes.includes(grantType)) {
    throw new OAuthError("unauthorized_client", `This client may not use the ${grantType} grant`);
  }
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) equals the stored challenge. */
async function s256(verifier: string): Promise<string> {
  return base64url(await sha256(verifier));
}

const invalidGrant = (description: string) => new OAuthError("invalid_grant", description);

/**
 * `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 8707 §2.2): the
 * code is used once (one conditional UPDATE), then checked against the client, the exact
 * `redirect_uri` of the authorization request, the PKCE verifier and the resource. A code
 * used a second time revokes every token issued from it (RFC 6749 §4.1.2) and audits
 * `oauth_code_reused`. A refresh token comes with it when the client registered the
 * `refresh_token` grant (with or without `offline_access`: MCP clients don't ask for it),
 * an id_token when `openid` was granted.
 */
export async function authorizationCodeGrant(ctx: Ctx, client: OAuthClient, form: TokenForm): Promise<TokenResponse> {
  mayUse(client, "authorization_code");
  const code = required(form, "code");
  const redirectUri = required(form, "redirect_uri");
  const verifier = required(form, "code_verifier");
  if (!CODE_VERIFIER.test(verifier)) {
    throw new OAuthError("invalid_request", "code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)");
  }
  const codeHash = await singleUseHash(code);
  if (!codeHash) throw invalidGrant("The authorization code is invalid or has expired");
  const [[row], [user]] = await redeemCode(ctx.db, codeHash, ctx.now);
  if (!row) {
    const seen = await findCode(ctx.db, codeHash);
    // Used already: marked, so a grant its first use is still starting is born revoked.
    if (seen?.usedAt && seen.userId) {
      const started = Boolean(seen.redeemed);
      await revokeCodeGrant(ctx, { id: seen.id, userId: seen.userId, clientId: seen.target ?? "" }, started);
      if (started) {
        throw invalidGrant("The authorization code was already used; the tokens issued from it are revoked");
      }
    }
    throw invalidGrant("The authorization code is invalid or has expired");
  }
  const data = JSON.parse(row.data ?? "{}") as AuthorizationCodeData;
  if (data.client_id !== client.clientId) throw invalidGrant("The authorization code was issued to another client");
  if (data.redirect_uri !== redirectUri) {
    throw invalidGrant("redirect_uri differs from the one of the authorization request");
  }
  if (!equalInConstantTime(await s256(verifier), data.code_challenge)) {
    throw invalidGrant("code_verifier does not match the code_challenge");
  }
  const resource = data.resource ?? null;
  if (form.resource !== undefined && form.resource !== resource) {
    throw new OAuthError("invalid_target", "resource differs from the one of the authorization request");
  }
  if (!user || user.disabled) throw invalidGrant("The account cannot sign in");
  const scope = parseScope(data.scope);
  const authTime = new Date(data.auth_time * 1000);
  const grant = await startGrant(
    ctx,
    {
      userId: user.id,
      clientId: client.clientId,
      scope: scope.join(" "),
      resource,
      authTime,
      codeId: row.id,
      amr: data.amr,
    },
    client.grantTypes.includes("refresh_token"),
    [markClientUsed(ctx.db, client.clientId, ctx.now)],
  );
  if (grant.reused)
    throw invalidGrant("The authorization code was already used; the tokens issued from it are revoked");
  const accessToken = await signAccessToken(
    ctx.config,
    {
      sub: user.id,
      clientId: client.clientId,
      scope: scope.join(" "),
      resource,
      authTime,
      amr: data.amr,
      sid: grant.familyId,
    },
    ctx.now,
  );
  const idToken = scope.includes("openid")
    ? await signIdToken(
        ctx.config,
        {
          user,
          clientId: client.clientId,
          scope,
          authTime,
          amr: data.amr,
          ...(data.nonce !== undefined && { nonce: data.nonce }),
          accessToken,
        },
        ctx.now,
      )
    : undefined;
  return {
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: ctx.config.oauth.accessTtlSeconds,
    scope: scope.join(" "),
    ...(grant.refreshToken && { refresh_token: grant.refreshToken }),
    ...(idToken && { id_token: idToken }),
  };
}

/**
 * `grant_type=refresh_token` (RFC 6749 §6): the grant's refresh token, for the client it
 * was issued to, rotated by the identity core (reuse detection, REFRESH_REUSE_INTERVAL; a
 * stale copy revokes the grant). `scope` may narrow what the new access token carries
 * (the grant keeps its own), never widen it (`invalid_scope`); `resource`, when sent,
 * must be the grant's (`invalid_target`). No id_token (OpenID Connect Core §12.2 makes it
 * optional).
 */
export async function refreshTokenGrant(ctx: Ctx, client: OAuthClient, form: TokenForm): Promise<TokenResponse> {
  mayUse(client, "refresh_token");
  const token = required(form, "refresh_token");
  const row = await findGrantToken(ctx, token);
  if (!row || row.clientId !== client.clientId) throw invalidGrant("The refresh token is invalid or has expired");
  const granted = parseScope(row.scope);
  const asked = form.scope === undefined ? granted : parseScope(form.scope);
  if (asked.some((scope) => !granted.includes(scope))) {
    throw new OAuthError("invalid_scope", "scope may only narrow the scope of the grant");
  }
  if (form.resource !== undefined && form.resource !== (row.resource ?? null)) {
    throw new OAuthError("invalid_target", "resource differs from the grant's");
  }
  const rotated = await rotateGrant(ctx, row, [markClientUsed(ctx.db, client.clientId, ctx.now)]);
  if (!rotated) throw invalidGrant("The refresh token is invalid or has expired");
  const scope = asked.join(" ");
  const accessToken = await signAccessToken(
    ctx.config,
    {
      sub: row.userId,
      clientId: client.clientId,
      scope,
      resource: row.resource,
      authTime: row.authTime,
      amr: row.amr?.split(" ") ?? [],
      sid: row.familyId,
    },
    ctx.now,
  );
  return {
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: ctx.config.oauth.accessTtlSeconds,
    scope,
    refresh_token: rotated.refreshToken,
  };
}

/**
 * `grant_type=client_credentials` (RFC 6749 §4.4): confidential clients registered with
 * that grant only (`unauthorized_client`); `sub` is the client. Scopes: the client's own
 * (`OAUTH_SCOPES` ones; the OpenID Connect scopes name a person and are refused,
 * `invalid_scope`), all of them when none is asked. `resource` must be in OAUTH_RESOURCES
 * (`invalid_target`). No refresh token, no id_token.
 */
export async function clientCredentialsGrant(ctx: Ctx, client: OAuthClient, form: TokenForm): Promise<TokenResponse> {
  if (client.type !== "confidential") {
    throw new OAuthError("unauthorized_client", "Only confidential clients may use client_credentials");
  }
  mayUse(client, "client_credentials");
  const oidc: readonly string[] = OIDC_SCOPES;
  const allowed = (client.scope ?? [...ctx.config.oauth.scopes]).filter((scope) => !oidc.includes(scope));
  const asked = form.scope === undefined ? allowed : parseScope(form.scope);
  if (asked.some((scope) => !allowed.includes(scope))) {
    throw new OAuthError("invalid_scope", "scope names a scope this client may not have without a person");
  }
  const resource = form.resource ?? null;
  if (resource !== null && !ctx.config.oauth.resources.includes(resource)) {
    throw new OAuthError("invalid_target", "resource is not one of this server's resources");
  }
  const scope = [...asked].sort().join(" ");
  const accessToken = await signAccessToken(
    ctx.config,
    { sub: client.clientId, clientId: client.clientId, scope, resource },
    ctx.now,
  );
  return { access_token: accessToken, token_type: "Bearer", expires_in: ctx.config.oauth.accessTtlSeconds, scope };
}
