// Every setting of the worker, each declared once: name, kind, parser (with its bounds),
// default and doc. src/platform/config.ts reads them once per isolate and applies the rules between
// settings; `npm run docs:generate` writes the README's table, wrangler.toml's [vars] and
// .dev.vars.example from them; scripts/dev-vars.mjs, scripts/config-check.mjs and
// vitest.config.ts's test bindings read them too.
//
// Adding a setting:
// 1. one entry below, where the docs should list it: a parser from src/platform/settings-kinds.ts or
//    -web.ts (a new kind there if none fits), its bounds given to the parser only and shown
//    in the doc as `{bounds}`; a var needs a default its parser accepts. Routes then read
//    it as `config.settings.NAME`, already parsed (or from a field of `Config` built in
//    src/platform/config.ts, for a group of settings used together);
// 2. if it depends on another setting (needs it, relaxes it, is unused without it): that
//    rule in src/platform/config.ts, beside the others;
// 3. `npm run docs:generate` and `npm run cf-typegen`.
// A family, one setting per id (`SOCIAL_<ID>_CLIENT_ID` for each id in `SOCIAL_PROVIDERS`):
// an `ids()` setting, then entries whose name holds `<ID>` and whose `each` names it; it is
// documented once and read for each listed id, as a record by id.
import { anyText, bool, duration, integer, json, line, oneOf, optional, secretKey, word } from "./settings-kinds";
import { baseUrl, domain, hostName, mailbox, origins, smtpUrl } from "./settings-kinds-web";
import { OAUTH_SETTINGS } from "./settings-oauth";
import type { BindingName, Setting, ValueIn } from "./settings-read";
import { SOCIAL_SETTINGS } from "./settings-social";

/** The cost `ENVIRONMENT=test` allows, so the suite hashes fast (src/platform/config.ts). */
export const BCRYPT_COST_IN_TESTS = integer({ min: 4, max: 14 });
/** `PUBLIC_URL` and `APP_URL` with `ENVIRONMENT` dev or test: plain http on any host. */
export const URL_IN_DEV = baseUrl({ http: true });

/** Every setting, in the order the generated docs list them. */
export const SETTINGS = [
  {
    name: "TOKEN_KEY",
    kind: "secret",
    parse: secretKey({ minBytes: 32 }),
    generate: "hex32",
    doc: "HS256 signing key, {bounds}, required with `JWT_ALG = HS256`: `wrangler secret put TOKEN_KEY` in production; locally `npm run dev` fills an empty one in `.dev.vars` with 32 random bytes",
  },
  {
    name: "JWT_PRIVATE_KEYS",
    kind: "secret",
    parse: json(),
    doc: "Only with `JWT_ALG` ES256, EdDSA or RS256: a JSON array of private JWKs, each with a `kid`; the first signs, all verify. Make one with `npm run keys:generate -- --alg ES256` (in `.dev.vars`: single-quoted, one line)",
  },
  {
    name: "TOKEN_TTL",
    kind: "var",
    parse: duration({ min: "1s", max: "30d" }),
    default: "5h",
    doc: "Access-token lifetime: `90s`, `15m`, `5h`, `30d` or plain seconds; {bounds}. Set `15m` when clients use refresh tokens",
  },
  {
    name: "REFRESH_TTL",
    kind: "var",
    parse: duration({ min: "1s", max: "365d" }),
    default: "30d",
    doc: "Refresh-token (session) lifetime; {bounds}",
  },
  {
    name: "REFRESH_REUSE_INTERVAL",
    kind: "var",
    parse: duration({ min: "0s", max: "60s" }),
    default: "10s",
    doc: "How long after its own rotation a refresh token may come back (two tabs, a retry after a lost answer) and get a fresh pair instead of counting as theft: a duration like `TOKEN_TTL`'s, {bounds} (`0` turns it off)",
  },
  {
    name: "CORS_ORIGINS",
    kind: "var",
    parse: origins({ any: true }),
    default: "*",
    doc: "`*`, or a comma-separated list of exact origins (`https://app.example.com`: no path, no trailing slash)",
  },
  {
    name: "CORS_CREDENTIALS",
    kind: "var",
    parse: bool(),
    default: "false",
    doc: "`true` sends `Access-Control-Allow-Credentials`; needs an explicit `CORS_ORIGINS` list",
  },
  {
    name: "BCRYPT_COST",
    kind: "var",
    // Above 14 a single hash takes over a second of CPU: more than any Workers plan allows.
    parse: integer({ min: 10, max: 14 }),
    default: "10",
    doc: `bcrypt cost, {bounds} (${BCRYPT_COST_IN_TESTS.bounds} only when \`ENVIRONMENT=test\`, which the test suite sets)`,
  },
  {
    name: "ALLOW_QUERY_TOKEN",
    kind: "var",
    parse: bool(),
    default: "false",
    doc: "`true` accepts `?token=` on `/welcome`. URLs end up in logs, so leave it off unless an old client needs it",
  },
  {
    name: "JWT_ALG",
    kind: "var",
    parse: oneOf(["HS256", "ES256", "EdDSA", "RS256"]),
    default: "HS256",
    doc: "HS256 signs with the `TOKEN_KEY` secret; ES256, EdDSA or RS256 sign with the first key of `JWT_PRIVATE_KEYS` and publish `/.well-known/jwks.json`",
  },
  {
    name: "JWT_ISSUER",
    kind: "var",
    parse: optional(),
    default: "",
    doc: "Optional: written into `iss` and required on verify when not empty",
  },
  {
    name: "JWT_AUDIENCE",
    kind: "var",
    parse: optional(),
    default: "",
    doc: "Optional: written into `aud` and required on verify when not empty",
  },
  {
    name: "LOCKOUT_AFTER",
    kind: "var",
    parse: integer({ min: 1, max: 9999 }),
    default: "5",
    doc: "Per-email lockout: failed logins in a row ({bounds}) before the email is locked",
  },
  {
    name: "LOCKOUT_BASE",
    kind: "var",
    parse: duration({ min: "1s", max: "1d" }),
    default: "1m",
    doc: "First lock's length (a duration, {bounds}); each further failure doubles it",
  },
  {
    name: "LOCKOUT_MAX",
    kind: "var",
    parse: duration({ min: "1s", max: "30d" }),
    default: "1h",
    doc: "Longest lock (a duration, {bounds})",
  },
  {
    name: "AUDIT_RETENTION",
    kind: "var",
    parse: duration({ min: "1s", max: "3650d" }),
    default: "90d",
    doc: "How long audit events (`GET /me/activity`, `GET /admin/audit`) are kept; the hourly housekeeping run deletes older ones. A duration, {bounds}",
  },
  {
    name: "MAIL_TRANSPORT",
    kind: "var",
    parse: oneOf(["none", "smtp", "cloudflare"]),
    default: "none",
    doc: "Mail for verification, password reset and email change: `none` (the mail routes answer 503 `mail_unavailable`), `smtp` (through the `SMTP_URL` secret) or `cloudflare` (the `EMAIL` send_email binding, Cloudflare Email Service). With mail on, `PUBLIC_URL` and `MAIL_FROM` are required. `npm run dev` sets `smtp` and its local mail catcher unless you set this or `SMTP_URL`",
  },
  {
    name: "MAIL_FROM",
    kind: "var",
    parse: mailbox(),
    default: "",
    doc: "The sender of every mail, `no-reply@acme.dev` or `Acme <no-reply@acme.dev>`; required with mail on",
  },
  {
    name: "APP_NAME",
    kind: "var",
    parse: line({ max: 100 }),
    default: "edge-auth-api",
    doc: "The product name in mail subjects and bodies, link pages and the TOTP issuer; {bounds}",
  },
  {
    name: "PUBLIC_URL",
    kind: "var",
    parse: baseUrl(),
    default: "",
    doc: "The base URL of every link in every mail (never taken from request headers); required with mail on, https outside local development. `npm run dev` sets it to the dev server's own address",
  },
  {
    name: "APP_URL",
    kind: "var",
    parse: baseUrl(),
    default: "",
    doc: "Optional: mailed links open `APP_URL` + `/password/reset?token=…` (your app's own pages) instead of the API's pages at `PUBLIC_URL`",
  },
  {
    name: "SOCIAL_REDIRECT_ORIGINS",
    kind: "var",
    parse: origins({ empty: true }),
    default: "",
    derived: "`CORS_ORIGINS` + `APP_URL`",
    doc: "The exact origins a sign-in that ends in a browser redirect may return to with its one-time `code` for `POST /login/exchange` (comma-separated, no path, no trailing slash); empty: the `CORS_ORIGINS` entries (none when `*`) plus `APP_URL`'s origin (`npm run dev` sets the dev server's own origin when none of the three is set). A `redirect_to` on any other origin is refused with 400 `invalid_redirect`: never an open redirect",
  },
  ...SOCIAL_SETTINGS,
  ...OAUTH_SETTINGS,
  {
    name: "MAIL_COOLDOWN",
    kind: "var",
    parse: duration({ min: "1s", max: "1d" }),
    default: "60s",
    doc: "At most one mail per address and purpose in this time ({bounds}); more requests get the same 202 and send nothing",
  },
  {
    name: "REQUIRE_EMAIL_VERIFICATION",
    kind: "var",
    parse: bool(),
    default: "false",
    doc: "`true`: register gives no tokens and login answers 403 `email_not_verified` until the address is verified; needs mail on",
  },
  {
    name: "SMTP_URL",
    kind: "secret",
    parse: smtpUrl(),
    doc: "With `MAIL_TRANSPORT=smtp`: `smtps://user:pass@host:465` (TLS) or `smtp://user:pass@host:587` (STARTTLS when offered). `npm run dev` points it at its mail catcher unless set",
  },
  {
    name: "MFA_ENCRYPTION_KEY",
    kind: "secret",
    parse: secretKey({ minBytes: 32 }),
    generate: "hex32",
    doc: "A key of {bounds}; TOTP secrets are stored AES-GCM encrypted under a key derived from it. Required: `wrangler secret put MFA_ENCRYPTION_KEY` in production; locally `npm run dev` fills an empty one in `.dev.vars`. Changing it makes every enrolled TOTP unreadable",
  },
  {
    name: "WEBAUTHN_RP_ID",
    kind: "var",
    parse: domain(),
    default: "localhost",
    doc: "The WebAuthn relying party id: the domain passkeys are bound to (`example.com` serves `app.example.com` too); a domain, not a URL or an IP address",
  },
  {
    name: "WEBAUTHN_RP_NAME",
    kind: "var",
    parse: anyText(),
    default: "",
    doc: "The name authenticators show for this site; empty means `APP_NAME`",
  },
  {
    name: "WEBAUTHN_ORIGINS",
    kind: "var",
    parse: origins(),
    default: "http://localhost:8787,http://localhost:5173",
    doc: "Comma-separated exact origins of the pages that create and use passkeys (checked against `clientDataJSON`), each on `WEBAUTHN_RP_ID` or a subdomain of it",
  },
  {
    name: "COOKIE_SAMESITE",
    kind: "var",
    parse: oneOf(["Lax", "Strict", "None"]),
    default: "Lax",
    doc: 'SameSite of the refresh-token cookie (`refresh_transport: "cookie"`): `Lax` when the app and the API share a site (`app.example.com` + `api.example.com`), `Strict`, or `None` for another site (needs `CORS_CREDENTIALS=true` and a `CORS_ORIGINS` list)',
  },
  {
    name: "COOKIE_DOMAIN",
    kind: "var",
    parse: hostName(),
    default: "",
    doc: "Domain of the refresh-token cookie; empty (the default) means the API's host only. A host name, no scheme, port or leading dot",
  },
  {
    name: "COOKIE_PARTITIONED",
    kind: "var",
    parse: bool(),
    default: "false",
    doc: "`true` adds CHIPS' `Partitioned` attribute to the refresh-token cookie, for an API used in a third-party context",
  },
  {
    name: "EMAIL_LOGIN",
    kind: "var",
    parse: oneOf(["off", "code", "link", "both"]),
    default: "off",
    doc: "Passwordless sign-in by email (`POST /login/email`, docs/email-login.md): `off`, `code` (a 6-digit code), `link` (a link whose page signs in and returns to `redirect_to` with a one-time `code` for `POST /login/exchange`) or `both`. Needs mail on (`MAIL_TRANSPORT` smtp or cloudflare)",
  },
  {
    name: "EMAIL_LOGIN_TTL",
    kind: "var",
    parse: duration({ min: "1m", max: "60m" }),
    default: "10m",
    doc: "How long an emailed sign-in code or link works ({bounds}); 5 wrong codes end it sooner",
  },
  {
    name: "EMAIL_LOGIN_KEY",
    kind: "secret",
    parse: secretKey({ minBytes: 32 }),
    generate: "hex32",
    doc: "A key of {bounds}: emailed sign-in codes are stored as an HMAC-SHA-256 under it (a 6-digit code's plain SHA-256 is undone by trying all 10^6 codes). Required with `EMAIL_LOGIN` on: `npm run dev` fills an empty one in `.dev.vars`, `npm run deploy` generates and uploads it",
  },
  {
    name: "ENVIRONMENT",
    kind: "internal",
    parse: word(),
    doc: "`test` lets the test suite use a low `BCRYPT_COST`; the worker logs a warning whenever it takes effect",
  },
] as const satisfies readonly Setting[];

export type SettingName = (typeof SETTINGS)[number]["name"];

/** The parsed value of the setting `N`. */
export type SettingValue<N extends SettingName> = ValueIn<typeof SETTINGS, N>;

/** What the worker reads from its bindings: every setting (any family member), and the
 * `EMAIL` send_email binding the mail rule checks; each may be absent or wrong. */
export type RawEnv = Partial<Record<BindingName<typeof SETTINGS> | "EMAIL", unknown>>;
