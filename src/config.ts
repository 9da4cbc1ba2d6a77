import type { LockoutPolicy } from "./db/lockout";

/** Algorithms access tokens can be signed with (`JWT_ALG`). */
export const SIGNING_ALGS = ["HS256", "ES256", "EdDSA", "RS256"] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export type AsymmetricAlg = Exclude<SigningAlg, "HS256">;

/** A private JWK from `JWT_PRIVATE_KEYS`, reduced to the members WebCrypto needs. */
export type PrivateJwk = JsonWebKey & { kid: string; alg: AsymmetricAlg; kty: string };

/** How tokens are signed: an HMAC secret, or private keys whose first one signs. */
export type Signing = { alg: "HS256"; secret: string } | { alg: AsymmetricAlg; keys: readonly PrivateJwk[] };

/** Validated configuration, read once per isolate from vars and secrets. */
export type Config = {
  signing: Signing;
  /** Written into `iss`/`aud` and required on verify when set. */
  issuer: string | undefined;
  audience: string | undefined;
  tokenTtlSeconds: number;
  refreshTtlSeconds: number;
  bcryptCost: number;
  allowQueryToken: boolean;
  lockout: LockoutPolicy;
  /** Shown in authenticator apps and as the WebAuthn relying party's default name. */
  appName: string;
  /** `MFA_ENCRYPTION_KEY`: TOTP secrets are stored AES-GCM encrypted under a key derived from it. */
  mfaKey: string;
  webauthn: WebAuthnConfig;
};

/** The WebAuthn relying party: `rpId` is the domain passkeys are bound to, `origins`
 * the exact origins accepted in `clientDataJSON`. */
export type WebAuthnConfig = { rpId: string; rpName: string; origins: readonly string[] };

/** What `readConfig` needs from the bindings; every field may be absent or wrong. */
type RawEnv = Partial<
  Record<
    | "TOKEN_KEY"
    | "TOKEN_TTL"
    | "REFRESH_TTL"
    | "CORS_ORIGINS"
    | "BCRYPT_COST"
    | "ALLOW_QUERY_TOKEN"
    | "ENVIRONMENT"
    | "JWT_ALG"
    | "JWT_PRIVATE_KEYS"
    | "JWT_ISSUER"
    | "JWT_AUDIENCE"
    | "CORS_CREDENTIALS"
    | "LOCKOUT_AFTER"
    | "LOCKOUT_BASE"
    | "LOCKOUT_MAX"
    | "APP_NAME"
    | "MFA_ENCRYPTION_KEY"
    | "WEBAUTHN_RP_ID"
    | "WEBAUTHN_RP_NAME"
    | "WEBAUTHN_ORIGINS",
    unknown
  >
>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

const MIN_KEY_BYTES = 32;
const DAY = 24 * 3600;
const MAX_TOKEN_TTL = 30 * DAY;
const MAX_REFRESH_TTL = 365 * DAY;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Parses and validates the environment; throws `ConfigError` naming the bad setting. */
export function readConfig(env: RawEnv): Config {
  const signing = readSigning(env);
  const isTest = env.ENVIRONMENT === "test";
  const bcryptCost = parseCost(setting(env.BCRYPT_COST, "10"), isTest ? 4 : 10);
  // Validated here so a bad CORS setting fails closed like any other; the CORS middleware
  // keeps its own copy (readCors), since it runs before the configuration is enforced.
  parseCors(env);
  const appName = setting(env.APP_NAME, "Edge Auth") || "Edge Auth";
  if (bcryptCost < 10)
    console.warn(`BCRYPT_COST ${bcryptCost} accepted only because ENVIRONMENT=test; never deploy this`);
  return {
    signing,
    issuer: optional(env.JWT_ISSUER),
    audience: optional(env.JWT_AUDIENCE),
    tokenTtlSeconds: parseTtl("TOKEN_TTL", setting(env.TOKEN_TTL, "5h"), MAX_TOKEN_TTL),
    refreshTtlSeconds: parseTtl("REFRESH_TTL", setting(env.REFRESH_TTL, "30d"), MAX_REFRESH_TTL),
    bcryptCost,
    allowQueryToken: parseBool("ALLOW_QUERY_TOKEN", setting(env.ALLOW_QUERY_TOKEN, "false")),
    lockout: {
      after: parseCount("LOCKOUT_AFTER", setting(env.LOCKOUT_AFTER, "5")),
      baseSeconds: parseTtl("LOCKOUT_BASE", setting(env.LOCKOUT_BASE, "1m"), DAY),
      maxSeconds: parseTtl("LOCKOUT_MAX", setting(env.LOCKOUT_MAX, "1h"), 30 * DAY),
    },
    appName,
    mfaKey: secretKey("MFA_ENCRYPTION_KEY", env.MFA_ENCRYPTION_KEY),
    webauthn: {
      rpId: parseRpId(setting(env.WEBAUTHN_RP_ID, "localhost")),
      rpName: setting(env.WEBAUTHN_RP_NAME, "") || appName,
      origins: parseWebAuthnOrigins(setting(env.WEBAUTHN_ORIGINS, "http://localhost:8787,http://localhost:5173")),
    },
  };
}

const cache = new WeakMap<object, Config | ConfigError>();

/** The CORS settings alone, for the CORS middleware that runs before configuration
 * is enforced: invalid CORS settings allow no origin at all. */
export function readCors(env: RawEnv): Cors {
  try {
    return parseCors(env);
  } catch {
    return { origins: [], credentials: false };
  }
}

export type Cors = { origins: "*" | readonly string[]; credentials: boolean };

/** `CORS_CREDENTIALS=true` lets browsers send cookies and auth headers with
 * `credentials: "include"`; it needs an explicit allowlist, never `*`. */
function parseCors(env: RawEnv): Cors {
  const origins = parseOrigins(setting(env.CORS_ORIGINS, "*"));
  const credentials = parseBool("CORS_CREDENTIALS", setting(env.CORS_CREDENTIALS, "false"));
  if (credentials && origins === "*") {
    throw new ConfigError("CORS_CREDENTIALS=true needs an explicit CORS_ORIGINS allowlist, not *");
  }
  return { origins, credentials };
}

/** `readConfig` memoized per bindings object, so a request pays for parsing once per isolate. */
export function getConfig(env: object): Config {
  let entry = cache.get(env);
  if (!entry) {
    try {
      entry = readConfig(env as RawEnv);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      entry = err;
    }
    cache.set(env, entry);
  }
  if (entry instanceof ConfigError) throw entry;
  return entry;
}

function readSigning(env: RawEnv): Signing {
  const alg = setting(env.JWT_ALG, "HS256");
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new ConfigError(`JWT_ALG "${alg}" must be one of ${SIGNING_ALGS.join(", ")}`);
  }
  if (alg === "HS256") {
    const secret = env.TOKEN_KEY;
    if (typeof secret !== "string" || secret.trim() === "") {
      throw new ConfigError("TOKEN_KEY is not set: run `wrangler secret put TOKEN_KEY` (locally: put it in .dev.vars)");
    }
    if (new TextEncoder().encode(secret).length < MIN_KEY_BYTES) {
      throw new ConfigError(`TOKEN_KEY is shorter than ${MIN_KEY_BYTES} bytes`);
    }
    return { alg, secret };
  }
  return { alg: alg as AsymmetricAlg, keys: parsePrivateKeys(env.JWT_PRIVATE_KEYS, alg as AsymmetricAlg) };
}

/** The private members each key type must have, beyond `kty`. */
const KEY_SHAPES = {
  ES256: { kty: "EC", crv: "P-256", members: ["x", "y", "d"] },
  EdDSA: { kty: "OKP", crv: "Ed25519", members: ["x", "d"] },
  RS256: { kty: "RSA", crv: undefined, members: ["n", "e", "d", "p", "q", "dp", "dq", "qi"] },
} as const;

/** Checks `JWT_PRIVATE_KEYS`: a JSON array of private JWKs for `alg`, each with a unique `kid`. */
function parsePrivateKeys(raw: unknown, alg: AsymmetricAlg): PrivateJwk[] {
  let keys: unknown;
  try {
    keys = typeof raw === "string" ? JSON.parse(raw) : raw;
  } catch {
    throw new ConfigError("JWT_PRIVATE_KEYS is not valid JSON");
  }
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(
      `JWT_PRIVATE_KEYS must be a non-empty JSON array of private JWKs (JWT_ALG is ${alg}); see npm run keys:generate`,
    );
  }
  const shape = KEY_SHAPES[alg];
  const seen = new Set<string>();
  return keys.map((key: Record<string, unknown>, index) => {
    const where = `JWT_PRIVATE_KEYS[${index}]`;
    if (typeof key !== "object" || key === null) throw new ConfigError(`${where} is not a JWK object`);
    const { kid } = key;
    if (typeof kid !== "string" || kid === "" || kid.length > 128) throw new ConfigError(`${where} needs a "kid"`);
    if (seen.has(kid)) throw new ConfigError(`${where} repeats kid "${kid}"`);
    seen.add(kid);
    if (key.alg !== undefined && key.alg !== alg)
      throw new ConfigError(`${where} is for ${String(key.alg)}, not ${alg}`);
    if (key.kty !== shape.kty || (shape.crv && key.crv !== shape.crv)) {
      throw new ConfigError(`${where} must be a ${shape.kty}${shape.crv ? ` ${shape.crv}` : ""} key for ${alg}`);
    }
    const jwk: Record<string, unknown> = { kty: shape.kty, kid, alg };
    if (shape.crv) jwk.crv = shape.crv;
    for (const member of shape.members) {
      if (typeof key[member] !== "string" || key[member] === "") throw new ConfigError(`${where} lacks "${member}"`);
      jwk[member] = key[member];
    }
    // 2048-bit modulus = 256 bytes = 342 base64url characters.
    if (alg === "RS256" && String(jwk.n).length < 342) throw new ConfigError(`${where} is shorter than 2048 bits`);
    return jwk as unknown as PrivateJwk;
  });
}

/** A secret of at least MIN_KEY_BYTES bytes; missing or shorter fails closed. */
function secretKey(name: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigError(`${name} is not set: run \`wrangler secret put ${name}\` (locally: put it in .dev.vars)`);
  }
  if (new TextEncoder().encode(value).length < MIN_KEY_BYTES) {
    throw new ConfigError(`${name} is shorter than ${MIN_KEY_BYTES} bytes`);
  }
  return value;
}

/** A WebAuthn RP ID is a domain (no scheme, port or path); IP addresses cannot be one. */
function parseRpId(value: string): string {
  const rpId = value.toLowerCase();
  if (
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(rpId) ||
    /^[0-9.]+$/.test(rpId)
  ) {
    throw new ConfigError(
      `WEBAUTHN_RP_ID "${value}" must be a domain such as example.com (not a URL or an IP address)`,
    );
  }
  return rpId;
}

/** `WEBAUTHN_ORIGINS`: a comma-separated list of exact origins, never `*`. */
function parseWebAuthnOrigins(value: string): string[] {
  const origins = value
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.length === 0 || !origins.every(isOrigin)) {
    throw new ConfigError(
      `WEBAUTHN_ORIGINS "${value}" must be a comma-separated list of origins like https://app.example.com`,
    );
  }
  return origins;
}

function optional(value: unknown): string | undefined {
  const text = typeof value === "string" ? value.trim() : "";
  return text === "" ? undefined : text;
}

function setting(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  return typeof value === "string" ? value.trim() : String(value);
}

/** `"5h"`, `"15m"`, `"30d"`, `"90s"` or plain seconds. */
function parseTtl(name: string, value: string, max: number): number {
  const match = /^(\d{1,8})([smhd]?)$/.exec(value);
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[(match[2] || "s") as keyof typeof UNIT_SECONDS] : 0;
  if (seconds < 1 || seconds > max) {
    throw new ConfigError(`${name} "${value}" must be a duration like 5h, 15m or 3600, between 1s and ${max / DAY}d`);
  }
  return seconds;
}

function parseCost(value: string, min: number): number {
  const cost = /^\d{1,2}$/.test(value) ? Number(value) : Number.NaN;
  // Above 14 a single hash takes over a second of CPU: more than any Workers plan allows.
  if (!(cost >= min && cost <= 14)) {
    throw new ConfigError(`BCRYPT_COST "${value}" must be an integer from ${min} to 14`);
  }
  return cost;
}

function parseCount(name: string, value: string): number {
  const count = /^\d{1,4}$/.test(value) ? Number(value) : 0;
  if (count < 1) throw new ConfigError(`${name} "${value}" must be a whole number from 1 to 9999`);
  return count;
}

function parseBool(name: string, value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(`${name} "${value}" must be true or false`);
}

function parseOrigins(value: string): "*" | string[] {
  if (value === "*") return "*";
  const origins = value
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.length === 0)
    throw new ConfigError('CORS_ORIGINS is empty: use "*" or a comma-separated list of origins');
  for (const origin of origins) {
    if (!isOrigin(origin)) {
      throw new ConfigError(
        `CORS_ORIGINS entry "${origin}" is not an origin like https://app.example.com (no path, no trailing slash)`,
      );
    }
  }
  return origins;
}

/** True when `value` is exactly what a browser sends in `Origin` for that site. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
  } catch {
    return false;
  }
}
