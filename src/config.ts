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
  /** Attributes of the refresh-token cookie (`refresh_transport: "cookie"`). */
  cookie: CookieSettings;
  /** `PUBLIC_URL`'s origin, when set: a same-origin deployment's own pages. */
  publicOrigin: string | undefined;
};

/** `COOKIE_SAMESITE`, `COOKIE_DOMAIN`, `COOKIE_PARTITIONED`. */
export type CookieSettings = { sameSite: SameSite; domain: string | undefined; partitioned: boolean };
export const SAME_SITE = ["Lax", "Strict", "None"] as const;
export type SameSite = (typeof SAME_SITE)[number];

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
    | "COOKIE_SAMESITE"
    | "COOKIE_DOMAIN"
    | "COOKIE_PARTITIONED"
    | "PUBLIC_URL",
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
  const cors = parseCors(env);
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
    cookie: parseCookie(env, cors),
    publicOrigin: parsePublicUrl(setting(env.PUBLIC_URL, "")),
  };
}

/** SameSite=None sends the cookie on requests from every site, so it is allowed only
 * when CORS lets exactly the listed origins in with credentials; the CSRF check then
 * accepts only those origins. */
function parseCookie(env: RawEnv, cors: Cors): CookieSettings {
  const sameSite = setting(env.COOKIE_SAMESITE, "Lax");
  if (!(SAME_SITE as readonly string[]).includes(sameSite)) {
    throw new ConfigError(`COOKIE_SAMESITE "${sameSite}" must be one of ${SAME_SITE.join(", ")}`);
  }
  if (sameSite === "None" && !(cors.credentials && cors.origins !== "*")) {
    throw new ConfigError("COOKIE_SAMESITE=None needs CORS_CREDENTIALS=true and an explicit CORS_ORIGINS allowlist");
  }
  const domain = optional(env.COOKIE_DOMAIN)?.toLowerCase();
  // A host name only: no scheme, port, path or leading dot (browsers ignore the dot anyway).
  if (
    domain !== undefined &&
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(domain)
  ) {
    throw new ConfigError(
      `COOKIE_DOMAIN "${domain}" must be a host name like example.com (no scheme, port or dot in front)`,
    );
  }
  const partitioned = parseBool("COOKIE_PARTITIONED", setting(env.COOKIE_PARTITIONED, "false"));
  return { sameSite: sameSite as SameSite, domain, partitioned };
}

/** `PUBLIC_URL`: where this API is reached (`https://auth.example.com`), or empty. */
function parsePublicUrl(value: string): string | undefined {
  if (value === "") return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === "https:" || url.protocol === "http:") return url.origin;
  } catch {
    // reported below
  }
  throw new ConfigError(`PUBLIC_URL "${value}" must be an http(s) URL like https://auth.example.com`);
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
