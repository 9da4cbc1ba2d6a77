import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { type ResourceOptions, resolve } from "./options";

/** What a verified access token says. */
export type AccessToken = {
  /** The token itself, e.g. to call another API on the user's behalf. */
  token: string;
  /** The user (or, for `client_credentials`, the client) the token speaks for. */
  sub: string;
  /** The OAuth client the token was issued to. */
  clientId: string;
  /** Its `scope`, split. */
  scopes: string[];
  /** `exp`, in seconds since the epoch. */
  expiresAt: number;
  /** `iat`, in seconds since the epoch. */
  issuedAt: number;
  jti: string;
  /** When the user signed in, when the token says. */
  authTime?: number;
  /** How the user signed in (`pwd`, `otp`, `hwk`, ...), when the token says. */
  amr?: string[];
  /** Every claim, as signed. */
  claims: JWTPayload;
};

/** Why a request was refused. `missing` is the only one without an RFC 6750 error code. */
export type Refusal =
  | "missing"
  | "malformed"
  | "signature"
  | "algorithm"
  | "unknown_key"
  | "type"
  | "issuer"
  | "audience"
  | "expired"
  | "claims"
  | "scope"
  | "jwks_unavailable";

/** A request that may not use the resource: 401 (no token, or a token that is not good
 * here), 403 (a good token without the scopes) or 503 (the key set could not be fetched,
 * which says nothing about the token). `errorResponse` turns it into the answer. */
export class AccessTokenError extends Error {
  override readonly name = "AccessTokenError";
  readonly status: 401 | 403 | 503;
  /** The RFC 6750 §3.1 error code; none when the request carried no token. */
  readonly error: "invalid_token" | "insufficient_scope" | "temporarily_unavailable" | undefined;
  /** The scopes the request needs (403 only). */
  readonly scope: readonly string[] | undefined;

  constructor(
    readonly reason: Refusal,
    description: string,
    extra: { scope?: readonly string[]; cause?: unknown } = {},
  ) {
    super(description, { cause: extra.cause });
    this.scope = extra.scope;
    if (reason === "missing") [this.status, this.error] = [401, undefined];
    else if (reason === "scope") [this.status, this.error] = [403, "insufficient_scope"];
    else if (reason === "jwks_unavailable") [this.status, this.error] = [503, "temporarily_unavailable"];
    else [this.status, this.error] = [401, "invalid_token"];
  }
}

/** RFC 6750 §2.1: `Bearer <b64token>`. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of `request`'s Authorization header: `undefined` when the request
 * offers none (no header, or another scheme), `""` when the Bearer credentials are malformed.
 * Tokens in the query or the body are not read (`bearer_methods_supported: ["header"]`). */
export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (!header || !/^Bearer(\s|$)/i.test(header)) return undefined;
  return BEARER.exec(header)?.[1] ?? "";
}

/** One remote key set per URL and cooldown, for the isolate's life: jose keeps the keys
 * (refetched when ten minutes old) and refetches for an unknown `kid` once the cooldown has
 * passed since the last fetch. */
const keySets = new Map<string, JWTVerifyGetKey>();

function keySet(url: URL, cooldown: number): JWTVerifyGetKey {
  const key = `${cooldown} ${url.href}`;
  let set = keySets.get(key);
  if (!set) {
    set = createRemoteJWKSet(url, { cooldownDuration: cooldown * 1000 });
    keySets.set(key, set);
  }
  return set;
}

/** Checks an access token of the authorization server for this resource (RFC 9068): the
 * signature by the issuer's JWKS with an allowed algorithm, `typ` `at+jwt` (the API's own
 * `typ: JWT` tokens are refused), `iss`, `aud` holding the resource, `exp`/`nbf` within the
 * clock skew, the claims every such token has, then the required scopes. `input` is the
 * request (its Authorization header) or the token itself; `null`/`undefined` mean none.
 * Throws an `AccessTokenError` for every refusal. */
export async function verifyAccessToken(
  input: Request | string | null | undefined,
  options: ResourceOptions,
): Promise<AccessToken> {
  const settings = resolve(options);
  const token = typeof input === "string" || input == null ? (input ?? undefined) : bearerToken(input);
  if (token === undefined) throw new AccessTokenError("missing", "This resource needs an access token.");
  if (token === "") throw new AccessTokenError("malformed", "The Authorization header is not Bearer <token>.");

  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, keySet(settings.jwksUrl, settings.jwksCooldown), {
      typ: "at+jwt",
      issuer: settings.issuer,
      audience: settings.resource,
      algorithms: settings.algorithms,
      clockTolerance: settings.clockSkew,
      requiredClaims: ["exp", "iat", "sub", "client_id", "jti"],
    }));
  } catch (err) {
    throw refusal(err);
  }

  const { sub, client_id, scope, exp, iat, jti, auth_time, amr } = claims;
  if (
    typeof sub !== "string" ||
    sub === "" ||
    typeof client_id !== "string" ||
    typeof jti !== "string" ||
    typeof exp !== "number" ||
    typeof iat !== "number" ||
    (scope !== undefined && typeof scope !== "string")
  ) {
    throw new AccessTokenError("claims", "The access token lacks a claim RFC 9068 requires.");
  }
  const scopes = (scope ?? "").split(" ").filter(Boolean);
  const missing = settings.scopes.filter((needed) => !scopes.includes(needed));
  if (missing.length > 0) {
    throw new AccessTokenError("scope", `The access token lacks the scope ${missing.join(" ")}.`, {
      scope: settings.scopes,
    });
  }
  return {
    token,
    sub,
    clientId: client_id,
    scopes,
    expiresAt: exp,
    issuedAt: iat,
    jti,
    ...(typeof auth_time === "number" ? { authTime: auth_time } : {}),
    ...(Array.isArray(amr) && amr.every((method) => typeof method === "string") ? { amr } : {}),
    claims,
  };
}

/** What a jose failure means for the caller. */
function refusal(err: unknown): AccessTokenError {
  const cause = { cause: err };
  if (err instanceof errors.JWTExpired) return new AccessTokenError("expired", "The access token expired.", cause);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "typ") {
      return new AccessTokenError("type", "The token is not an OAuth access token (typ at+jwt).", cause);
    }
    if (err.claim === "iss") {
      return new AccessTokenError("issuer", "The access token comes from another issuer.", cause);
    }
    if (err.claim === "aud") {
      return new AccessTokenError("audience", "The access token is meant for another resource.", cause);
    }
    return new AccessTokenError("claims", `The access token's ${err.claim} claim is not valid here.`, cause);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new AccessTokenError("algorithm", "The access token's signing algorithm is not accepted.", cause);
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new AccessTokenError("unknown_key", "The access token names no key of the issuer's key set.", cause);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new AccessTokenError("signature", "The access token's signature is not valid.", cause);
  }
  // The key set could not be had: timed out, not a 200, not JSON, not a key set, or the
  // fetch itself failed (a plain TypeError). Nothing is known about the token then.
  if (
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    (err instanceof errors.JOSEError && err.code === errors.JOSEError.code) ||
    !(err instanceof errors.JOSEError)
  ) {
    return new AccessTokenError("jwks_unavailable", "The issuer's key set could not be fetched.", cause);
  }
  return new AccessTokenError("malformed", "The access token is not a valid JWT.", cause);
}
