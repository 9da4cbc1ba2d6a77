import { decodeBase64Url, encodeBase64Url } from "hono/utils/encode";
import { signing, verifying } from "hono/utils/jwt/jws";
import { isTokenHeader } from "hono/utils/jwt/jwt";
import type { Config } from "../platform/config";
import { ApiError } from "../platform/errors";
import type { Role } from "../platform/schema";
import { keyringOf } from "./keys";

// Every JWT this service signs or accepts goes through here, with the keys of keys.ts
// imported once per isolate. The header and payload are built here and signed with
// Hono's JWS helpers (`signing`/`verifying` from hono/utils/jwt/jws), given the CryptoKey
// itself: hono/jwt's `sign` would import the key again on every call. A token is decoded
// once, its header read for `kid` and `typ`, its payload for the claims.

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

/** The `typ` of the API's own access tokens. Other kinds signed with the same keys (an
 * OAuth `at+jwt`, an id_token) carry their own `typ` and are never accepted as these. */
export const ACCESS_TOKEN_TYP = "JWT";

/** Longer than any token we issue by a wide margin; refuses header-stuffing early. */
export const MAX_TOKEN_LENGTH = 8 * 1024;
/** Clocks drift: a token may say it was issued this many seconds in our future. */
const CLOCK_SKEW_SECONDS = 30;
/** No token of ours lives longer than the longest TOKEN_TTL allowed. */
const MAX_LIFETIME_SECONDS = 30 * 24 * 3600;

const utf8 = new TextEncoder();
const encodePart = (part: unknown) => encodeBase64Url(utf8.encode(JSON.stringify(part)).buffer).replace(/=/g, "");

/**
 * Signs `claims` (any JSON object, written as given) with the configuration's current
 * key: the header is `{ alg, typ, kid }` (`kid` only for a key that has one, so HS256's
 * is `{ alg, typ }`). `typ` is `JWT` for the API's access tokens; another kind of token
 * names its own (`at+jwt`, RFC 9068).
 */
export async function signJwt(config: Config, claims: object, { typ = ACCESS_TOKEN_TYP } = {}): Promise<string> {
  const { alg, signer } = await keyringOf(config);
  const header = signer.kid === undefined ? { alg, typ } : { alg, typ, kid: signer.kid };
  const signed = `${encodePart(header)}.${encodePart(claims)}`;
  const signature = await signing(signer.key, alg, utf8.encode(signed));
  return `${signed}.${encodeBase64Url(signature).replace(/=/g, "")}`;
}

/** Who an access token is for. */
export type TokenSubject = { id: string; email: string; role: Role; emailVerifiedAt: Date | null };

/** Signs an access token for `user` in session `sid`, valid for `TOKEN_TTL`; `amr`
 * (RFC 8176) says how the user authenticated, when the caller knows. */
export function issueAccessToken(
  user: TokenSubject,
  sid: string,
  config: Config,
  amr?: readonly string[],
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return signJwt(config, {
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
  });
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

const utf8Decoder = new TextDecoder();
const decodePart = (part: string): unknown => JSON.parse(utf8Decoder.decode(decodeBase64Url(part)));

/**
 * The payload of `token` when it is one of ours: the compact JWS shape (three canonical
 * base64url segments, before any crypto), a header of the expected `typ` (undefined: the
 * API's access tokens, `JWT` or no `typ` at all; otherwise exactly that type) and of the
 * configured algorithm with no `crit`, a known `kid` (asymmetric keys), `nbf` passed,
 * `iss` and `aud` as configured (JWT_ISSUER, JWT_AUDIENCE: for the API's own tokens only;
 * a token of another `typ`, such as an OAuth `at+jwt`, has its `iss` and `aud` checked by
 * its caller), and our signature. Lifetime claims are the caller's to check. Any failure
 * is `invalid_token`.
 */
export async function verifyJwt(config: Config, token: string, typ?: string): Promise<Record<string, unknown>> {
  if (token.length > MAX_TOKEN_LENGTH || !isCompactJws(token)) throw new ApiError("invalid_token");
  const keyring = await keyringOf(config);
  const [head = "", body = "", signature = ""] = token.split(".");
  let header: unknown;
  let payload: unknown;
  try {
    header = decodePart(head);
    payload = decodePart(body);
  } catch {
    throw new ApiError("invalid_token");
  }
  if (!isTokenHeader(header, typ) || header.alg !== keyring.alg) throw new ApiError("invalid_token");
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new ApiError("invalid_token");
  const claims = payload as Record<string, unknown>;
  const key = keyring.verifyWith(keyring.alg === "HS256" ? undefined : (header as { kid?: unknown }).kid);
  if (!key || !claimsMatch(config, claims, typ === undefined)) throw new ApiError("invalid_token");
  let valid: boolean;
  try {
    valid = await verifying(key, keyring.alg, decodeBase64Url(signature), utf8.encode(`${head}.${body}`));
  } catch {
    valid = false;
  }
  if (!valid) throw new ApiError("invalid_token");
  return claims;
}

/** `nbf`, and for the API's own tokens (`own`) `iss` and `aud`, as hono/jwt's `verify` checks them. */
function claimsMatch(config: Config, claims: Record<string, unknown>, own: boolean): boolean {
  const now = Math.floor(Date.now() / 1000);
  const { nbf, iss, aud } = claims;
  if (nbf !== undefined && (typeof nbf !== "number" || !Number.isFinite(nbf) || nbf > now)) return false;
  if (!own) return true;
  if (config.issuer && iss !== config.issuer) return false;
  if (config.audience) {
    if (!aud) return false;
    if (!(Array.isArray(aud) ? aud : [aud]).includes(config.audience)) return false;
  }
  return true;
}

/** Verifies one of the API's access tokens (`verifyJwt` with its `typ`), then its
 * lifetime and claims; any failure is `invalid_token`, a genuine token past its `exp`
 * says so. */
export async function verifyAccessToken(token: string, config: Config): Promise<AccessClaims> {
  const payload = await verifyJwt(config, token);
  // A token that never expires is refused here; `iat` gets a small clock-skew allowance.
  const { sub, email, iat, exp, sid, jti, role = "user" } = payload;
  if (typeof exp !== "number" || typeof sub !== "string" || typeof email !== "string" || typeof iat !== "number") {
    throw new ApiError("invalid_token");
  }
  // An OpenID Connect id_token is `typ: JWT` too, signed by the same key, with `sub` and
  // (scope `email`) `email`; it never carries `user_id`, which every token of ours does.
  if (payload.user_id !== sub) throw new ApiError("invalid_token");
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
