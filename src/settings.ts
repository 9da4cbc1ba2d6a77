/** One setting the worker reads from its bindings.
 * - `var`: non-secret, its default written into wrangler.toml `[vars]`;
 * - `secret`: never in wrangler.toml or git; `wrangler secret put` in production,
 *   `.dev.vars` locally (listed in `.dev.vars.example`);
 * - `internal`: for tests and the benchmark only, never set in wrangler.toml. */
export type Setting = {
  name: string;
  kind: "var" | "secret" | "internal";
  /** The value used when the binding is absent (`[vars]` for a var). */
  default?: string;
  /** One or two sentences: what it does and which values it takes. */
  meaning: string;
  /** Secrets only: `npm run dev` writes a fresh random value into `.dev.vars` when it is empty. */
  generate?: "hex32";
};

/** Every setting, in the order the generated docs list them. `scripts/generate-docs.mjs`
 * writes wrangler.toml's `[vars]`, `.dev.vars.example` and the README's configuration
 * table from this list (`npm run check:generated` fails when they drift), and
 * `src/config.ts` takes its defaults from it. Adding a setting: one entry here, its
 * parsing in `readConfig`, then `npm run docs:generate` and `npm run cf-typegen`. */
export const SETTINGS = [
  {
    name: "TOKEN_KEY",
    kind: "secret",
    generate: "hex32",
    meaning:
      "HS256 signing key, at least 32 bytes, required with `JWT_ALG = HS256`: `wrangler secret put TOKEN_KEY` in production; locally `npm run dev` fills an empty one in `.dev.vars` with 32 random bytes",
  },
  {
    name: "JWT_PRIVATE_KEYS",
    kind: "secret",
    meaning:
      "Only with `JWT_ALG` ES256, EdDSA or RS256: a JSON array of private JWKs, each with a `kid`; the first signs, all verify. Make one with `npm run keys:generate -- --alg ES256` (in `.dev.vars`: single-quoted, one line)",
  },
  {
    name: "TOKEN_TTL",
    kind: "var",
    default: "5h",
    meaning:
      "Access-token lifetime: `90s`, `15m`, `5h`, `30d` or plain seconds; 1 s to 30 d. Set `15m` when clients use refresh tokens",
  },
  { name: "REFRESH_TTL", kind: "var", default: "30d", meaning: "Refresh-token (session) lifetime; 1 s to 365 d" },
  {
    name: "REFRESH_REUSE_INTERVAL",
    kind: "var",
    default: "10s",
    meaning:
      "How long after its own rotation a refresh token may come back (two tabs, a retry after a lost answer) and get a fresh pair instead of counting as theft: a duration like `TOKEN_TTL`'s, `0` (off) to `60s`",
  },
  {
    name: "CORS_ORIGINS",
    kind: "var",
    default: "*",
    meaning: "`*`, or a comma-separated list of exact origins (`https://app.example.com`: no path, no trailing slash)",
  },
  {
    name: "CORS_CREDENTIALS",
    kind: "var",
    default: "false",
    meaning: "`true` sends `Access-Control-Allow-Credentials`; needs an explicit `CORS_ORIGINS` list",
  },
  {
    name: "BCRYPT_COST",
    kind: "var",
    default: "10",
    meaning: "bcrypt cost, 10 to 14 (4 to 14 only when `ENVIRONMENT=test`, which the test suite sets)",
  },
  {
    name: "ALLOW_QUERY_TOKEN",
    kind: "var",
    default: "false",
    meaning:
      "`true` accepts `?token=` on `/welcome`. URLs end up in logs, so leave it off unless an old client needs it",
  },
  {
    name: "JWT_ALG",
    kind: "var",
    default: "HS256",
    meaning:
      "HS256 signs with the `TOKEN_KEY` secret; ES256, EdDSA or RS256 sign with the first key of `JWT_PRIVATE_KEYS` and publish `/.well-known/jwks.json`",
  },
  {
    name: "JWT_ISSUER",
    kind: "var",
    default: "",
    meaning: "Optional: written into `iss` and required on verify when not empty",
  },
  {
    name: "JWT_AUDIENCE",
    kind: "var",
    default: "",
    meaning: "Optional: written into `aud` and required on verify when not empty",
  },
  {
    name: "LOCKOUT_AFTER",
    kind: "var",
    default: "5",
    meaning: "Per-email lockout: failed logins in a row (1 to 9999) before the email is locked",
  },
  {
    name: "LOCKOUT_BASE",
    kind: "var",
    default: "1m",
    meaning: "First lock's length (a duration, up to 1 d); each further failure doubles it",
  },
  { name: "LOCKOUT_MAX", kind: "var", default: "1h", meaning: "Longest lock (a duration, up to 30 d)" },
  {
    name: "AUDIT_RETENTION",
    kind: "var",
    default: "90d",
    meaning:
      "How long audit events (`GET /me/activity`, `GET /admin/audit`) are kept; the hourly housekeeping run deletes older ones. A duration, 1 s to 3650 d",
  },
  {
    name: "MAIL_TRANSPORT",
    kind: "var",
    default: "none",
    meaning:
      "Mail for verification, password reset and email change: `none` (the mail routes answer 503 `mail_unavailable`), `smtp` (through the `SMTP_URL` secret) or `cloudflare` (the `EMAIL` send_email binding, Cloudflare Email Service). With mail on, `PUBLIC_URL` and `MAIL_FROM` are required. `npm run dev` sets `smtp` and its local mail catcher unless you set this or `SMTP_URL`",
  },
  {
    name: "MAIL_FROM",
    kind: "var",
    default: "",
    meaning: "The sender of every mail, `no-reply@acme.dev` or `Acme <no-reply@acme.dev>`; required with mail on",
  },
  {
    name: "APP_NAME",
    kind: "var",
    default: "edge-auth-api",
    meaning:
      "The product name in mail subjects and bodies, link pages and the TOTP issuer; 1 to 100 characters on one line",
  },
  {
    name: "PUBLIC_URL",
    kind: "var",
    default: "",
    meaning:
      "The base URL of every link in every mail (never taken from request headers); required with mail on, https outside local development. `npm run dev` sets it to the dev server's own address",
  },
  {
    name: "APP_URL",
    kind: "var",
    default: "",
    meaning:
      "Optional: mailed links open `APP_URL` + `/password/reset?token=…` (your app's own pages) instead of the API's pages at `PUBLIC_URL`",
  },
  {
    name: "MAIL_COOLDOWN",
    kind: "var",
    default: "60s",
    meaning:
      "At most one mail per address and purpose in this time (up to 1 d); more requests get the same 202 and send nothing",
  },
  {
    name: "REQUIRE_EMAIL_VERIFICATION",
    kind: "var",
    default: "false",
    meaning:
      "`true`: register gives no tokens and login answers 403 `email_not_verified` until the address is verified; needs mail on",
  },
  {
    name: "SMTP_URL",
    kind: "secret",
    meaning:
      "With `MAIL_TRANSPORT=smtp`: `smtps://user:pass@host:465` (TLS) or `smtp://user:pass@host:587` (STARTTLS when offered). `npm run dev` points it at its mail catcher unless set",
  },
  {
    name: "MFA_ENCRYPTION_KEY",
    kind: "secret",
    generate: "hex32",
    meaning:
      "At least 32 bytes; TOTP secrets are stored AES-GCM encrypted under a key derived from it. Required: `wrangler secret put MFA_ENCRYPTION_KEY` in production; locally `npm run dev` fills an empty one in `.dev.vars`. Changing it makes every enrolled TOTP unreadable",
  },
  {
    name: "WEBAUTHN_RP_ID",
    kind: "var",
    default: "localhost",
    meaning:
      "The WebAuthn relying party id: the domain passkeys are bound to (`example.com` serves `app.example.com` too); a domain, not a URL or an IP address",
  },
  {
    name: "WEBAUTHN_RP_NAME",
    kind: "var",
    default: "",
    meaning: "The name authenticators show for this site; empty means `APP_NAME`",
  },
  {
    name: "WEBAUTHN_ORIGINS",
    kind: "var",
    default: "http://localhost:8787,http://localhost:5173",
    meaning:
      "Comma-separated exact origins of the pages that create and use passkeys (checked against `clientDataJSON`), each on `WEBAUTHN_RP_ID` or a subdomain of it",
  },
  {
    name: "COOKIE_SAMESITE",
    kind: "var",
    default: "Lax",
    meaning:
      'SameSite of the refresh-token cookie (`refresh_transport: "cookie"`): `Lax` when the app and the API share a site (`app.example.com` + `api.example.com`), `Strict`, or `None` for another site (needs `CORS_CREDENTIALS=true` and a `CORS_ORIGINS` list)',
  },
  {
    name: "COOKIE_DOMAIN",
    kind: "var",
    default: "",
    meaning:
      "Domain of the refresh-token cookie; empty (the default) means the API's host only. A host name, no scheme, port or leading dot",
  },
  {
    name: "COOKIE_PARTITIONED",
    kind: "var",
    default: "false",
    meaning:
      "`true` adds CHIPS' `Partitioned` attribute to the refresh-token cookie, for an API used in a third-party context",
  },
  {
    name: "ENVIRONMENT",
    kind: "internal",
    meaning: "`test` lets the test suite use a low `BCRYPT_COST`; the worker logs a warning whenever it takes effect",
  },
  {
    name: "D1_COUNT",
    kind: "internal",
    meaning:
      "`true` adds `X-D1-Round-Trips` to every response (benchmark and tests only); `twice` also runs every D1 call twice in a request sending `X-D1-Twice: 1`, so `npm run bench` can measure local D1's CPU apart from the Worker's (only with ENVIRONMENT `dev` or `test`)",
  },
] as const satisfies readonly Setting[];

export type SettingName = (typeof SETTINGS)[number]["name"];

/** The default of a setting, as the description above gives it (`""` when it has none). */
export function defaultOf(name: SettingName): string {
  const found: Setting | undefined = SETTINGS.find((setting) => setting.name === name);
  return found?.default ?? "";
}
