/** Validated configuration, read once per isolate from vars and secrets. */
export type Config = {
  tokenKey: string;
  tokenTtlSeconds: number;
  refreshTtlSeconds: number;
  /** `"*"` for any origin, else the exact origins allowed. */
  corsOrigins: "*" | readonly string[];
  bcryptCost: number;
  allowQueryToken: boolean;
};

/** What `readConfig` needs from the bindings; every field may be absent or wrong. */
type RawEnv = Partial<
  Record<
    "TOKEN_KEY" | "TOKEN_TTL" | "REFRESH_TTL" | "CORS_ORIGINS" | "BCRYPT_COST" | "ALLOW_QUERY_TOKEN" | "ENVIRONMENT",
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
  const tokenKey = env.TOKEN_KEY;
  if (typeof tokenKey !== "string" || tokenKey.trim() === "") {
    throw new ConfigError("TOKEN_KEY is not set: run `wrangler secret put TOKEN_KEY` (locally: put it in .dev.vars)");
  }
  if (new TextEncoder().encode(tokenKey).length < MIN_KEY_BYTES) {
    throw new ConfigError(`TOKEN_KEY is shorter than ${MIN_KEY_BYTES} bytes`);
  }
  const isTest = env.ENVIRONMENT === "test";
  const bcryptCost = parseCost(setting(env.BCRYPT_COST, "10"), isTest ? 4 : 10);
  if (bcryptCost < 10)
    console.warn(`BCRYPT_COST ${bcryptCost} accepted only because ENVIRONMENT=test; never deploy this`);
  return {
    tokenKey,
    tokenTtlSeconds: parseTtl("TOKEN_TTL", setting(env.TOKEN_TTL, "5h"), MAX_TOKEN_TTL),
    refreshTtlSeconds: parseTtl("REFRESH_TTL", setting(env.REFRESH_TTL, "30d"), MAX_REFRESH_TTL),
    corsOrigins: parseOrigins(setting(env.CORS_ORIGINS, "*")),
    bcryptCost,
    allowQueryToken: parseBool("ALLOW_QUERY_TOKEN", setting(env.ALLOW_QUERY_TOKEN, "false")),
  };
}

const cache = new WeakMap<object, Config | ConfigError>();

/** The CORS allowlist alone, for the CORS middleware that runs before configuration
 * is enforced: an invalid `CORS_ORIGINS` allows no origin at all. */
export function readCorsOrigins(env: RawEnv): "*" | readonly string[] {
  try {
    return parseOrigins(setting(env.CORS_ORIGINS, "*"));
  } catch {
    return [];
  }
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
