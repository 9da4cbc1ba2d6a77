import { decode, sign, verify } from "hono/jwt";
import type { Config } from "../platform/config";
import { ApiError } from "../platform/errors";
import type { Role } from "../platform/schema";
import { keyringOf } from "./keys";

/** Claims of an access token. `user_id` repeats `sub` for the tutorial's clients;
 * `sid` names the session (refresh-token family) it belongs to, `jti` the token. */
export type AccessClaims = {
  sub: string;
  user_id: string;
  email: string;
  role: Role;
  /** Whether the address was verified when the token was issued. */
  email_verified?: boolean;
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

/** Who an access token is for. */
export type TokenSubject = { id: string; email: string; role: Role; emailVerifiedAt: Date | null };

/** Signs an access token for `user` in session `sid`, valid for `TOKEN_TTL`; `amr`
 * (RFC 8176) says how the user authenticated, when the caller knows. */
export async function issueAccessToken(
  user: TokenSubject,
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
    email_verified: user.emailVerifiedAt !== null,
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

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Three non-empty segments of the base64url alphabet, nothing else (no `=`, no spaces). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** True when `segment` is the one base64url encoding of some bytes (RFC 7515 2, RFC 4648
 * 3.5): no padding, a length that encodes whole bytes, and zero in the bits of the last
 * character that encode no byte. Decoders that ignore those bits accept a token in many
 * spellings; only the canonical one is ours. */
function isCanonicalBase64url(segment: string): boolean {
  const tail = segment.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = BASE64URL.indexOf(segment.at(-1) ?? "");
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}

/** True when `token` has the compact JWS shape, every segment canonical base64url. */
export function isCompactJws(token: string): boolean {
  return COMPACT_JWS.test(token) && token.split(".").every(isCanonicalBase64url);
}

/** Verifies the shape (three canonical base64url segments, before any crypto), then
 * signature, algorithm (pinned to `JWT_ALG`), key id, issuer, audience and lifetime;
 * any failure is `invalid_token`. */
export async function verifyAccessToken(token: string, config: Config): Promise<AccessClaims> {
  if (token.length > MAX_TOKEN_LENGTH || !isCompactJws(token)) throw new ApiError("invalid_token");
  const keyring = await keyringOf(config);
  let payload: Record<string, unknown>;
  try {
    const key = keyring.verifyWith(config.signing.alg === "HS256" ? undefined : decode(token).header.kid);
    if (!key) throw new Error("unknown kid");
    // `iat` is checked below, with a small clock-skew allowance hono/jwt does not give;
    // `exp` too, since hono/jwt checks it before the signature, and only a token we signed
    // may be told that it expired.
    payload = await verify(token, key, {
      alg: config.signing.alg,
      iss: config.issuer,
      aud: config.audience,
      iat: false,
      exp: false,
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
  if (!Number.isFinite(exp)) throw new ApiError("invalid_token");
  if (exp <= now) throw expired();
  // amr (RFC 8176) is carried on, e.g. into the pair a password change answers.
  const amr = Array.isArray(payload.amr) && payload.amr.every((v) => typeof v === "string") ? payload.amr : undefined;
  return { sub, user_id: sub, email, role, iat, exp, sid, jti, ...(amr && { amr }) };
}

/** The answer to a genuine token past its `exp`: it says so (RFC 6750 `error_description`),
 * which only a token with our signature ever learns. */
function expired(): ApiError {
  return new ApiError(
    "invalid_token",
    "Invalid Token: it has expired; get a new one from POST /token/refresh or POST /login",
    undefined,
    { "WWW-Authenticate": 'Bearer error="invalid_token", error_description="The access token expired"' },
  );
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === "string";
}
