import type { LockoutPolicy } from "./db/lockout";
import { defaultOf } from "./settings";

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
  /** How long after its rotation a refresh token may be presented again without
   * counting as theft (`REFRESH_REUSE_INTERVAL`); 0 turns the allowance off. */
  refreshReuseSeconds: number;
  bcryptCost: number;
  allowQueryToken: boolean;
  lockout: LockoutPolicy;
  /** How long audit events are kept before housekeeping deletes them. */
  auditRetentionSeconds: number;
  /** `APP_NAME`: in mail subjects and bodies, the pages mailed links open, authenticator apps,
   * and the WebAuthn relying party's default name. */
  appName: string;
  /** `MFA_ENCRYPTION_KEY`: TOTP secrets are stored AES-GCM encrypted under a key derived from it. */
  mfaKey: string;
  webauthn: WebAuthnConfig;
  /** Mail delivery and the links in it (src/mail/). */
  mail: MailConfig;
  /** Attributes of the refresh-token cookie (`refresh_transport: "cookie"`). */
  cookie: CookieSettings;
  /** `PUBLIC_URL`'s origin, when set: a same-origin deployment's own pages. */
  publicOrigin: string | undefined;
};

/** `COOKIE_SAMESITE`, `COOKIE_DOMAIN`, `COOKIE_PARTITIONED`. */
export type CookieSettings = { sameSite: SameSite; domain: string | undefined; partitioned: boolean };
export const SAME_SITE = ["Lax", "Strict", "None"] as const;
export type SameSite = (typeof SAME_SITE)[number];

/** How mail goes out (`MAIL_TRANSPORT`), and what every mail and link is built from. */
export type MailConfig = {
  transport: "none" | "smtp" | "cloudflare";
  /** `MAIL_FROM`: the sender, checked to be one header-safe address. */
  from: { email: string; name?: string };
  /** `PUBLIC_URL`: the base of every link in every mail; never a request header. */
  publicUrl: string;
  /** `APP_URL`: when set, links open the app's own pages at the same paths instead of the API's. */
  appUrl: string | undefined;
  /** From the `SMTP_URL` secret, with `MAIL_TRANSPORT=smtp`. */
  smtp: SmtpServer | undefined;
  /** `MAIL_COOLDOWN`: at most one mail per address and purpose in this many seconds. */
  cooldownSeconds: number;
  /** `REQUIRE_EMAIL_VERIFICATION`: no tokens for an unverified address. */
  requireVerification: boolean;
};

/** An SMTP server as `SMTP_URL` names it: `smtps://` is TLS from the first byte (465),
 * `smtp://` upgrades with STARTTLS when the server offers it (587). */
export type SmtpServer = {
  host: string;
  port: number;
  secure: boolean;
  credentials: { username: string; password: string } | undefined;
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
    | "REFRESH_REUSE_INTERVAL"
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
    | "AUDIT_RETENTION"
    | "MAIL_TRANSPORT"
    | "MAIL_FROM"
    | "APP_NAME"
    | "PUBLIC_URL"
    | "APP_URL"
    | "SMTP_URL"
    | "MAIL_COOLDOWN"
    | "REQUIRE_EMAIL_VERIFICATION"
    | "EMAIL"
    | "MFA_ENCRYPTION_KEY"
    | "WEBAUTHN_RP_ID"
    | "WEBAUTHN_RP_NAME"
    | "WEBAUTHN_ORIGINS"
    | "COOKIE_SAMESITE"
    | "COOKIE_DOMAIN"
    | "COOKIE_PARTITIONED",
    unknown
  >
>;

/** Invalid configuration; `problems` lists every bad setting found, one sentence each. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.join("; "));
    this.problems = list;
  }
}

const MIN_KEY_BYTES = 32;
const DAY = 24 * 3600;
const MAX_TOKEN_TTL = 30 * DAY;
const MAX_REFRESH_TTL = 365 * DAY;
const MAX_REFRESH_REUSE = 60;
const MAX_AUDIT_RETENTION = 10 * 365 * DAY;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Parses and validates the environment; throws one `ConfigError` listing every bad setting. */
export function readConfig(env: RawEnv): Config {
  const problems: string[] = [];
  /** Runs one setting's parser; a problem is recorded and the next setting still checked.
   * The `undefined` it then returns never escapes: any problem throws below. */
  const check = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined as T;
    }
  };
  const isTest = env.ENVIRONMENT === "test";
  const appName = check(() => readAppName(env));
  // Parsed once: the base of mailed links and, by its origin, the cookie CSRF check.
  const publicUrl = check(() => readPublicUrl(env));
  // Validated here so a bad CORS setting fails closed like any other; the CORS middleware
  // keeps its own copy (readCors), since it runs before the configuration is enforced.
  const cors = check(() => parseCors(env));
  const config: Config = {
    signing: check(() => readSigning(env)),
    issuer: optional(env.JWT_ISSUER),
    audience: optional(env.JWT_AUDIENCE),
    tokenTtlSeconds: check(() => parseTtl("TOKEN_TTL", setting(env.TOKEN_TTL, defaultOf("TOKEN_TTL")), MAX_TOKEN_TTL)),
    refreshTtlSeconds: check(() =>
      parseTtl("REFRESH_TTL", setting(env.REFRESH_TTL, defaultOf("REFRESH_TTL")), MAX_REFRESH_TTL),
    ),
    refreshReuseSeconds: check(() =>
      parseTtl(
        "REFRESH_REUSE_INTERVAL",
        setting(env.REFRESH_REUSE_INTERVAL, defaultOf("REFRESH_REUSE_INTERVAL")),
        MAX_REFRESH_REUSE,
        0,
      ),
    ),
    bcryptCost: check(() => parseCost(setting(env.BCRYPT_COST, defaultOf("BCRYPT_COST")), isTest ? 4 : 10)),
    allowQueryToken: check(() =>
      parseBool("ALLOW_QUERY_TOKEN", setting(env.ALLOW_QUERY_TOKEN, defaultOf("ALLOW_QUERY_TOKEN"))),
    ),
    lockout: {
      after: check(() => parseCount("LOCKOUT_AFTER", setting(env.LOCKOUT_AFTER, defaultOf("LOCKOUT_AFTER")))),
      baseSeconds: check(() => parseTtl("LOCKOUT_BASE", setting(env.LOCKOUT_BASE, defaultOf("LOCKOUT_BASE")), DAY)),
      maxSeconds: check(() => parseTtl("LOCKOUT_MAX", setting(env.LOCKOUT_MAX, defaultOf("LOCKOUT_MAX")), 30 * DAY)),
    },
    auditRetentionSeconds: check(() =>
      parseTtl("AUDIT_RETENTION", setting(env.AUDIT_RETENTION, defaultOf("AUDIT_RETENTION")), MAX_AUDIT_RETENTION),
    ),
    appName,
    mfaKey: check(() => secretKey("MFA_ENCRYPTION_KEY", env.MFA_ENCRYPTION_KEY)),
    webauthn: check(() => ({
      rpId: parseRpId(setting(env.WEBAUTHN_RP_ID, defaultOf("WEBAUTHN_RP_ID"))),
      rpName: setting(env.WEBAUTHN_RP_NAME, defaultOf("WEBAUTHN_RP_NAME")) || appName,
      origins: parseWebAuthnOrigins(setting(env.WEBAUTHN_ORIGINS, defaultOf("WEBAUTHN_ORIGINS"))),
    })),
    mail: check(() => readMail(env, publicUrl)),
    // (With invalid CORS settings the cookie is checked against none: that problem is reported already.)
    cookie: check(() => parseCookie(env, cors ?? { origins: "*", credentials: false })),
    publicOrigin: publicUrl ? new URL(publicUrl).origin : undefined,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  if (config.bcryptCost < 10)
    console.warn(`BCRYPT_COST ${config.bcryptCost} accepted only because ENVIRONMENT=test; never deploy this`);
  return config;
}

/** `APP_NAME`: plain text on one line, since it goes into mail headers and otpauth URIs. */
function readAppName(env: RawEnv): string {
  const appName = setting(env.APP_NAME, defaultOf("APP_NAME"));
  if (appName === "" || appName.length > 100 || HEADER_UNSAFE.test(appName)) {
    throw new ConfigError("APP_NAME must be 1 to 100 characters of plain text on one line");
  }
  return appName;
}

const TRANSPORTS = ["none", "smtp", "cloudflare"] as const;
/** CR, LF and every other control character: none may reach a mail header. */
const HEADER_UNSAFE = /\p{Cc}/u;
const ADDRESS = /^[^\s@<>"(),;:\\[\]]+@[^\s@<>"(),;:\\[\]]+\.[^\s@<>"(),;:\\[\]]+$/;

/** `PUBLIC_URL` as a base URL without a trailing slash, or "" when it is not set; checked
 * whenever set: outside ENVIRONMENT=dev/test it must be https (or loopback). */
function readPublicUrl(env: RawEnv): string {
  const value = optional(env.PUBLIC_URL);
  return value === undefined ? "" : parseBaseUrl("PUBLIC_URL", value, relaxedUrls(env));
}

/** ENVIRONMENT=dev/test let `PUBLIC_URL` and `APP_URL` be plain http on any host. */
function relaxedUrls(env: RawEnv): boolean {
  return env.ENVIRONMENT === "test" || env.ENVIRONMENT === "dev";
}

/** The mail settings. With mail on, every link needs `PUBLIC_URL` (links never come from
 * request headers). `publicUrl` is `readPublicUrl`'s result: undefined when it refused
 * `PUBLIC_URL`, a problem reported already. */
function readMail(env: RawEnv, publicUrl: string | undefined): MailConfig {
  const transport = setting(env.MAIL_TRANSPORT, defaultOf("MAIL_TRANSPORT"));
  if (!(TRANSPORTS as readonly string[]).includes(transport)) {
    throw new ConfigError(`MAIL_TRANSPORT "${transport}" must be one of ${TRANSPORTS.join(", ")}`);
  }
  const on = transport !== "none";
  const requireVerification = parseBool(
    "REQUIRE_EMAIL_VERIFICATION",
    setting(env.REQUIRE_EMAIL_VERIFICATION, defaultOf("REQUIRE_EMAIL_VERIFICATION")),
  );
  if (requireVerification && !on) {
    throw new ConfigError("REQUIRE_EMAIL_VERIFICATION=true needs MAIL_TRANSPORT smtp or cloudflare");
  }
  if (on && publicUrl === "") {
    throw new ConfigError(`MAIL_TRANSPORT=${transport} needs PUBLIC_URL, the base of every link in a mail`);
  }
  const appUrl = optional(env.APP_URL);
  if (transport === "cloudflare" && (typeof env.EMAIL !== "object" || env.EMAIL === null)) {
    throw new ConfigError("MAIL_TRANSPORT=cloudflare needs the send_email binding EMAIL in wrangler.toml");
  }
  return {
    transport: transport as MailConfig["transport"],
    from: on ? parseFrom(optional(env.MAIL_FROM)) : { email: "" },
    publicUrl: publicUrl ?? "",
    appUrl: appUrl === undefined ? undefined : parseBaseUrl("APP_URL", appUrl, relaxedUrls(env)),
    smtp: transport === "smtp" ? parseSmtpUrl(env.SMTP_URL) : undefined,
    cooldownSeconds: parseTtl("MAIL_COOLDOWN", setting(env.MAIL_COOLDOWN, defaultOf("MAIL_COOLDOWN")), DAY),
    requireVerification,
  };
}

/** `MAIL_FROM`: `no-reply@acme.dev` or `Acme <no-reply@acme.dev>`. */
function parseFrom(value: string | undefined): MailConfig["from"] {
  if (value === undefined) throw new ConfigError('MAIL_FROM is not set, e.g. "Acme <no-reply@acme.dev>"');
  if (HEADER_UNSAFE.test(value)) throw new ConfigError("MAIL_FROM must be on one line");
  const match = /^(?:"?([^"<>]*?)"?\s*)?<([^<>]+)>$/.exec(value);
  const email = (match ? match[2] : value)?.trim() ?? "";
  const name = match?.[1]?.trim() || undefined;
  if (!ADDRESS.test(email))
    throw new ConfigError(`MAIL_FROM "${value}" is not an address like "Acme <no-reply@acme.dev>"`);
  return name ? { email, name } : { email };
}

/** An http(s) base URL without query or fragment, returned without a trailing slash. */
function parseBaseUrl(name: string, value: string, relaxed: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} "${value}" is not a URL like https://auth.example.com`);
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  const secure = url.protocol === "https:" || (url.protocol === "http:" && (relaxed || loopback));
  if (!secure || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`${name} "${value}" must be an https URL with no query, fragment or credentials`);
  }
  return url.href.replace(/\/+$/, "");
}

/** `SMTP_URL`: `smtp://user:pass@host:587` (STARTTLS) or `smtps://user:pass@host:465`. */
function parseSmtpUrl(value: unknown): SmtpServer {
  const raw = optional(value);
  if (raw === undefined) {
    throw new ConfigError("MAIL_TRANSPORT=smtp needs the SMTP_URL secret, e.g. smtps://user:pass@smtp.example.com:465");
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("SMTP_URL is not a URL like smtps://user:pass@smtp.example.com:465");
  }
  const secure = url.protocol === "smtps:";
  if ((!secure && url.protocol !== "smtp:") || url.hostname === "") {
    throw new ConfigError("SMTP_URL must start with smtp:// or smtps:// and name a host");
  }
  const username = decodeURIComponent(url.username);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    credentials: username ? { username, password: decodeURIComponent(url.password) } : undefined,
  };
}

/** SameSite=None sends the cookie on requests from every site, so it is allowed only
 * when CORS lets exactly the listed origins in with credentials; the CSRF check then
 * accepts only those origins. */
function parseCookie(env: RawEnv, cors: Cors): CookieSettings {
  const sameSite = setting(env.COOKIE_SAMESITE, defaultOf("COOKIE_SAMESITE"));
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
  const partitioned = parseBool("COOKIE_PARTITIONED", setting(env.COOKIE_PARTITIONED, defaultOf("COOKIE_PARTITIONED")));
  return { sameSite: sameSite as SameSite, domain, partitioned };
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
  const origins = parseOrigins(setting(env.CORS_ORIGINS, defaultOf("CORS_ORIGINS")));
  const credentials = parseBool("CORS_CREDENTIALS", setting(env.CORS_CREDENTIALS, defaultOf("CORS_CREDENTIALS")));
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
  const alg = setting(env.JWT_ALG, defaultOf("JWT_ALG"));
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new ConfigError(`JWT_ALG "${alg}" must be one of ${SIGNING_ALGS.join(", ")}`);
  }
  if (alg === "HS256") {
    const secret = env.TOKEN_KEY;
    if (typeof secret !== "string" || secret.trim() === "") {
      throw new ConfigError(
        "TOKEN_KEY is not set: run `wrangler secret put TOKEN_KEY` (locally: `npm run dev` fills it in .dev.vars)",
      );
    }
    if (new TextEncoder().encode(secret).length < MIN_KEY_BYTES) {
      throw new ConfigError(
        `TOKEN_KEY is shorter than ${MIN_KEY_BYTES} bytes: use 32 random bytes, e.g. 64 hex digits (locally: empty it in .dev.vars and \`npm run dev\` makes one)`,
      );
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
    throw new ConfigError(
      `${name} is not set: run \`wrangler secret put ${name}\` (locally: leave it empty in .dev.vars and \`npm run dev\` makes one)`,
    );
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

/** `"5h"`, `"15m"`, `"30d"`, `"90s"` or plain seconds, from `min` to `max` seconds. */
function parseTtl(name: string, value: string, max: number, min = 1): number {
  const match = /^(\d{1,8})([smhd]?)$/.exec(value);
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[(match[2] || "s") as keyof typeof UNIT_SECONDS] : -1;
  if (seconds < min || seconds > max) {
    throw new ConfigError(
      `${name} "${value}" must be a duration like 5h, 15m or 3600, between ${duration(min)} and ${duration(max)}`,
    );
  }
  return seconds;
}

/** `seconds` in the largest unit that divides it: 86400 is "1d", 60 is "1m", 0 is "0s". */
function duration(seconds: number): string {
  const unit = (["d", "h", "m"] as const).find((name) => seconds > 0 && seconds % UNIT_SECONDS[name] === 0) ?? "s";
  return `${seconds / UNIT_SECONDS[unit]}${unit}`;
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
