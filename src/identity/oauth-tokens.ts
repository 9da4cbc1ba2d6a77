import type { Config } from "../platform/config";
import { base64url, sha256 } from "../platform/crypto";
import { signJwt } from "./tokens";

// The OAuth provider's tokens, signed here like every token of this service (`signJwt`,
// the JWKS key): access tokens as JWTs per RFC 9068 (`typ: at+jwt`) and OpenID Connect
// id_tokens (Core §2, `typ: JWT`). The API's own routes refuse `at+jwt` (verifyAccessToken
// accepts only `typ: JWT`); the provider's endpoints verify theirs with
// src/features/oauth/access-tokens.ts, which refuses the API's own tokens.

/** The `typ` of the provider's access tokens (RFC 9068 §2.1). */
export const AT_JWT = "at+jwt";

/** An access token's claims (RFC 9068 §2.2): `sub` is the user, or the client for
 * client_credentials; `sid` the grant (session family) it belongs to, none for
 * client_credentials. Times in epoch seconds. */
export type ProviderAccessClaims = {
  iss: string;
  sub: string;
  aud: string;
  client_id: string;
  scope: string;
  exp: number;
  iat: number;
  jti: string;
  auth_time?: number;
  amr?: string[];
  sid?: string;
};

/** What an access token is about. */
export type AccessTokenGrant = {
  sub: string;
  clientId: string;
  scope: string;
  /** RFC 8707: the resource asked for, which becomes `aud`; else the issuer. */
  resource: string | null;
  authTime?: Date | null;
  amr?: readonly string[];
  sid?: string;
};

/** Signs an access token for `grant`, valid `OAUTH_ACCESS_TTL`; returns it with its `exp`. */
export async function signAccessToken(config: Config, grant: AccessTokenGrant, now: Date) {
  const iat = Math.floor(now.getTime() / 1000);
  const claims: ProviderAccessClaims = {
    iss: config.oauth.issuer,
    sub: grant.sub,
    aud: grant.resource ?? config.oauth.issuer,
    client_id: grant.clientId,
    scope: grant.scope,
    exp: iat + config.oauth.accessTtlSeconds,
    iat,
    jti: crypto.randomUUID(),
    ...(grant.authTime && { auth_time: Math.floor(grant.authTime.getTime() / 1000) }),
    ...(grant.amr && grant.amr.length > 0 && { amr: [...grant.amr] }),
    ...(grant.sid && { sid: grant.sid }),
  };
  return signJwt(config, claims, { typ: AT_JWT });
}

/** The person an id_token is about, as the scopes let the client see them. */
export type IdTokenSubject = {
  id: string;
  email: string;
  emailVerifiedAt: Date | null;
  firstName: string;
  lastName: string;
};

/** The claims `scope` lets a client see of `user` (OpenID Connect Core §5.4): `email` and
 * `email_verified` with `email`, `name`, `given_name`, `family_name` with `profile`. */
export function scopedClaims(user: IdTokenSubject, scope: readonly string[]): Record<string, unknown> {
  return {
    ...(scope.includes("profile") && {
      name: `${user.firstName} ${user.lastName}`.trim(),
      given_name: user.firstName,
      family_name: user.lastName,
    }),
    ...(scope.includes("email") && { email: user.email, email_verified: user.emailVerifiedAt !== null }),
  };
}

/** `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the SHA-256 of the access
 * token's ASCII, base64url (SHA-256 for ES256, RS256 and EdDSA alike here). */
export async function atHash(accessToken: string): Promise<string> {
  const digest = await sha256(accessToken);
  return base64url(digest.slice(0, digest.length / 2));
}

/** Signs an id_token (OpenID Connect Core §2) for `clientId` (`aud`), living as long as
 * the access token it comes with; `nonce` only when the authorization request had one
 * (never `null`). */
export async function signIdToken(
  config: Config,
  input: {
    user: IdTokenSubject;
    clientId: string;
    scope: readonly string[];
    authTime: Date;
    amr: readonly string[];
    nonce?: string;
    accessToken: string;
  },
  now: Date,
) {
  const iat = Math.floor(now.getTime() / 1000);
  return signJwt(
    config,
    {
      iss: config.oauth.issuer,
      sub: input.user.id,
      aud: input.clientId,
      exp: iat + config.oauth.accessTtlSeconds,
      iat,
      auth_time: Math.floor(input.authTime.getTime() / 1000),
      ...(input.nonce !== undefined && { nonce: input.nonce }),
      ...(input.amr.length > 0 && { amr: [...input.amr] }),
      at_hash: await atHash(input.accessToken),
      ...scopedClaims(input.user, input.scope),
    },
    { typ: "JWT" },
  );
}
