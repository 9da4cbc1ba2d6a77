import { sign, verify } from "hono/jwt";
import type { Config } from "../config";
import { ApiError } from "../errors";

/** Claims of an access token. `user_id` repeats `sub` for the tutorial's clients;
 * `sid` names the session (refresh-token family) it belongs to, `jti` the token. */
export type AccessClaims = {
  sub: string;
  user_id: string;
  email: string;
  sid?: string;
  jti?: string;
  iat: number;
  exp: number;
};

const ALG = "HS256";
/** Longer than any token we issue by a wide margin; refuses header-stuffing early. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** Signs an access token for `user` in session `sid`, valid for `TOKEN_TTL`. */
export function issueAccessToken(user: { id: string; email: string }, sid: string, config: Config): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims: AccessClaims = {
    sub: user.id,
    user_id: user.id,
    email: user.email,
    sid,
    jti: crypto.randomUUID(),
    iat,
    exp: iat + config.tokenTtlSeconds,
  };
  return sign(claims, config.tokenKey, ALG);
}

/** Verifies signature, algorithm and lifetime; any failure is `invalid_token`. */
export async function verifyAccessToken(token: string, config: Config): Promise<AccessClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw new ApiError("invalid_token");
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, config.tokenKey, { alg: ALG });
  } catch {
    throw new ApiError("invalid_token");
  }
  // hono/jwt checks `exp` only when present; a token that never expires is refused here.
  const { sub, email, iat, exp, sid, jti } = payload;
  if (typeof exp !== "number" || typeof sub !== "string" || typeof email !== "string" || typeof iat !== "number") {
    throw new ApiError("invalid_token");
  }
  if (!optionalString(sid) || !optionalString(jti)) throw new ApiError("invalid_token");
  return { sub, user_id: sub, email, iat, exp, sid, jti };
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === "string";
}
