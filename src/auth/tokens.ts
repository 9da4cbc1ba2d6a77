import { decode, sign, verify } from "hono/jwt";
import type { Config } from "../config";
import { ApiError } from "../errors";
import { keyringOf } from "./keys";

export type Role = "user" | "admin";

/** Claims of an access token. `user_id` repeats `sub` for the tutorial's clients;
 * `sid` names the session (refresh-token family) it belongs to, `jti` the token. */
export type AccessClaims = {
  sub: string;
  user_id: string;
  email: string;
  role: Role;
  sid?: string;
  jti?: string;
  /** How the user authenticated (RFC 8176), e.g. `["pwd"]` or `["pwd","otp","mfa"]`. */
  amr?: string[];
  iat: number;
  exp: number;
};

/** Longer than any token we issue by a wide margin; refuses header-stuffing early. */
export const MAX_TOKEN_LENGTH = 8 * 1024;
/** Clocks drift: a token may say it was issued this many seconds in our future. */
const CLOCK_SKEW_SECONDS = 30;
/** No token of ours lives longer than the longest TOKEN_TTL allowed. */
const MAX_LIFETIME_SECONDS = 30 * 24 * 3600;

/** Signs an access token for `user` in session `sid`, valid for `TOKEN_TTL`; `amr`
 * (RFC 8176) says how the user authenticated, when the caller knows. */
export async function issueAccessToken(
  user: { id: string; email: string; role: Role },
  sid: string,
  config: Config,
  amr?: readonly string[],
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    sub: user.id,
    user_id: user.id,
    email: user.email,
    role: user.role,
    sid,
    jti: crypto.randomUUID(),
    iat,
    exp: iat + config.tokenTtlSeconds,
    ...(amr && { amr }),
    ...(config.issuer && { iss: config.issuer }),
    ...(config.audience && { aud: config.audience }),
  };
  const { signWith } = await keyringOf(config);
  return sign(claims, signWith, config.signing.alg);
}

/** Verifies signature, algorithm (pinned to `JWT_ALG`), key id, issuer, audience
 * and lifetime; any failure is `invalid_token`. */
export async function verifyAccessToken(token: string, config: Config): Promise<AccessClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw new ApiError("invalid_token");
  const keyring = await keyringOf(config);
  let payload: Record<string, unknown>;
  try {
    const key = keyring.verifyWith(config.signing.alg === "HS256" ? undefined : decode(token).header.kid);
    if (!key) throw new Error("unknown kid");
    // `iat` is checked below, with a small clock-skew allowance hono/jwt does not give.
    payload = await verify(token, key, {
      alg: config.signing.alg,
      iss: config.issuer,
      aud: config.audience,
      iat: false,
    });
  } catch {
    throw new ApiError("invalid_token");
  }
  // hono/jwt checks `exp` only when present; a token that never expires is refused here.
  const { sub, email, iat, exp, sid, jti, role = "user" } = payload;
  if (typeof exp !== "number" || typeof sub !== "string" || typeof email !== "string" || typeof iat !== "number") {
    throw new ApiError("invalid_token");
  }
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isFinite(iat) || iat > now + CLOCK_SKEW_SECONDS || exp - iat > MAX_LIFETIME_SECONDS) {
    throw new ApiError("invalid_token");
  }
  if (!optionalString(sid) || !optionalString(jti) || (role !== "user" && role !== "admin")) {
    throw new ApiError("invalid_token");
  }
  return { sub, user_id: sub, email, role, iat, exp, sid, jti };
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === "string";
}
