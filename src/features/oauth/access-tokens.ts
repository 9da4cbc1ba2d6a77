import { AT_JWT, type ProviderAccessClaims } from "../../identity/oauth-tokens";
import { verifyJwt } from "../../identity/tokens";
import type { Config } from "../../platform/config";
import { ApiError } from "../../platform/errors";

// Verifying the provider's access tokens (signed by src/identity/oauth-tokens.ts) at its own
// endpoints (userinfo, introspection, revocation): `typ: at+jwt` only, so the API's own
// access tokens (`typ: JWT`) are never taken for OAuth ones.

/**
 * The claims of one of the provider's access tokens: `typ: at+jwt`, our signature and
 * key, `iss` = the issuer, `aud` = the issuer or one of `audiences`, unexpired, the claims
 * of RFC 9068 §2.2 of the right types. Anything else (the API's own tokens among them),
 * undefined.
 */
export async function verifyProviderToken(
  config: Config,
  token: string,
  audiences: readonly string[] = [],
): Promise<ProviderAccessClaims | undefined> {
  let claims: Record<string, unknown>;
  try {
    claims = await verifyJwt(config, token, AT_JWT);
  } catch (err) {
    if (err instanceof ApiError) return undefined;
    throw err;
  }
  const { iss, sub, aud, client_id, scope, exp, iat, jti, sid } = claims;
  const now = Math.floor(Date.now() / 1000);
  if (iss !== config.oauth.issuer || typeof aud !== "string") return undefined;
  if (aud !== config.oauth.issuer && !audiences.includes(aud)) return undefined;
  if (typeof sub !== "string" || typeof client_id !== "string" || typeof scope !== "string") return undefined;
  if (typeof exp !== "number" || typeof iat !== "number" || typeof jti !== "string") return undefined;
  if (!Number.isFinite(exp) || exp <= now || iat > now + 30) return undefined;
  if (sid !== undefined && typeof sid !== "string") return undefined;
  return claims as ProviderAccessClaims;
}
