import { DrizzleQueryError } from "drizzle-orm/errors";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { log } from "./log";

/** Every error code the API can answer with: its status, default message and, for the
 * README's generated error table, when it is answered (`npm run docs:generate`).
 * Messages keep the tutorial's words where it had them: clients match on them. */
export const ERRORS = {
  invalid_input: [
    400,
    "All input is required",
    'a field is missing ("All input is required", naming the field when the body has it under another spelling such as `first_name`), of the wrong type, or out of bounds',
  ],
  invalid_json: [
    400,
    "Request body must be a JSON object",
    "empty body, malformed JSON, invalid UTF-8, or a top level that is not an object",
  ],
  invalid_credentials: [
    400,
    "Invalid Credentials",
    'unknown email or wrong password ("Invalid Credentials"); both bodies are byte-identical',
  ],
  invalid_link: [
    400,
    "This link is invalid or has expired",
    "a mail link (verification, password reset, email change) that is unknown, expired, already used or replaced by a newer one",
  ],
  invalid_code: [
    400,
    "This code is invalid or has expired",
    "`POST /login/exchange`: a one-time sign-in code that is unknown, expired (60 seconds), already used, or retired by a change to the account; `POST /login/email/verify`: a wrong, expired, used or replaced emailed code (the 5th wrong one ends it)",
  ],
  invalid_redirect: [
    400,
    "redirect_to must be an absolute URL on an allowed origin",
    "a `redirect_to` that is not an absolute http(s) URL, carries a user name or password, or whose origin is not in `SOCIAL_REDIRECT_ORIGINS`; none at all where one is required (`GET /login/social/:id`, `POST /login/email` with `EMAIL_LOGIN=link`)",
  ],
  invalid_token: [
    401,
    "Invalid Token",
    'bad signature, malformed or non-canonical, expired (the message and `error_description` say so), wrong `alg` (including `none`), no `exp`, over 8 KB, revoked session; with `WWW-Authenticate: Bearer error="invalid_token"`',
  ],
  token_required: [
    403,
    "A token is required for authentication",
    "no token; when one was sent where this route does not read it (no `Bearer `, `?token=` switched off), the message says where tokens go",
  ],
  forbidden: [403, "You do not have permission to do this", "an admin route called by a user who is not an admin"],
  email_not_verified: [
    403,
    "Confirm your email address first: use the link we sent you",
    "login or refresh of an unverified address while `REQUIRE_EMAIL_VERIFICATION=true`",
  ],
  mfa_required: [
    403,
    "A second factor is required: send it to POST /login/mfa with the mfa_token",
    "login of an account with TOTP on: the answer carries `mfa_token` (5 minutes, 5 tries) for `POST /login/mfa`",
  ],
  not_found: [404, "Not Found", "unknown route, or an id that is not yours to see"],
  method_not_allowed: [
    405,
    "Method Not Allowed",
    "a known path with a method it does not serve; `Allow` lists the ones it does",
  ],
  user_exists: [409, "User Already Exist. Please Login", "email already registered, in any letter case"],
  last_admin: [
    409,
    "This would leave no enabled admin",
    "the last enabled admin demoting, disabling or deleting themself",
  ],
  last_sign_in_method: [
    409,
    "This is the account's last way to sign in: set a password or add a passkey first",
    "`DELETE /me/identities/:id` of the only identity of an account with no password and no passkey",
  ],
  mfa_already_enabled: [409, "TOTP is already enabled: disable it first", "TOTP enrolment while TOTP is on"],
  payload_too_large: [413, "Request body is larger than 16 KiB", "body over 16 KiB"],
  unsupported_media_type: [415, "Content-Type must be application/json", "a body that is not `application/json`"],
  rate_limited: [
    429,
    "Too many attempts, try again later",
    "a per-IP limit, or the account's lockout after failed logins or failed signed-in password and code re-checks; comes with `Retry-After`",
  ],
  internal: [500, "Internal Server Error", "a bug; details go to the log, never to the client"],
  server_misconfigured: [
    500,
    "Server is misconfigured",
    "invalid settings (the log lists every one) or a database without its tables (the log names `npm run db:migrate:local`); every route fails closed",
  ],
  service_unavailable: [
    503,
    "Service temporarily unavailable, try again shortly",
    "D1 failed; comes with `Retry-After`",
  ],
  mail_unavailable: [
    503,
    "This server does not send mail",
    "a route that sends mail on a deployment with `MAIL_TRANSPORT=none`",
  ],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string, string?]>;

export type ErrorCode = keyof typeof ERRORS;

/** Every code with its status, for the OpenAPI document and tests. */
export const ERROR_STATUSES = Object.fromEntries(
  Object.entries(ERRORS).map(([code, [status]]) => [code, status]),
) as Record<ErrorCode, ContentfulStatusCode>;

/** The one error type handlers throw; `onError` turns it into the JSON envelope. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  /** For the log line only, never sent to the client. */
  readonly detail: string | undefined;
  /** Extra response headers, such as `Retry-After` or `Allow`. */
  readonly headers: Record<string, string>;
  /** Fields sent beside `error` in the body, such as `mfa_token` with `mfa_required`. */
  readonly extra: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message?: string,
    detail?: string,
    headers: Record<string, string> = {},
    extra: Record<string, unknown> = {},
  ) {
    const [status, fallback] = ERRORS[code];
    super(message ?? fallback);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.detail = detail;
    // RFC 6750 section 3: a 401 names the scheme and the error; a forged token gets no description.
    if (status === 401) headers = { "WWW-Authenticate": 'Bearer error="invalid_token"', ...headers };
    this.headers = status === 503 ? { "Retry-After": "5", ...headers } : headers;
    this.extra = extra;
  }
}

/** The single place error JSON is built: `{"error":{"code","message"}}`, plus the
 * error's `extra` fields beside `error`. */
export function errorResponse(c: Context, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json({ ...error.extra, error: { code: error.code, message: error.message } }, error.status);
}

export const onError: ErrorHandler = (err, c) => {
  if (err instanceof ApiError) {
    if (err.status >= 500) log(c, "error", err.code, { detail: err.detail ?? err.message });
    return errorResponse(c, err);
  }
  if (err instanceof HTTPException) {
    // Raised by Hono internals (e.g. a body stream it could not read); keep the
    // status, replace the text, which is not written for clients.
    return errorResponse(c, new ApiError(codeForStatus(err.status)));
  }
  // Plain `wrangler dev` skips the migrations: a misconfiguration to fix, not an outage to wait out.
  const missing = missingTable(err);
  if (missing)
    return onError(new ApiError("server_misconfigured", MISSING_TABLES_MESSAGE, missingTableDetail(missing)), c);
  const database = isDatabaseError(err);
  log(c, "error", database ? "database_error" : "unhandled", describe(err));
  return errorResponse(c, new ApiError(database ? "service_unavailable" : "internal"));
};

export const notFound: NotFoundHandler = (c) => errorResponse(c, new ApiError("not_found"));

/** Log-safe summary of an unexpected error. Drizzle's query errors embed the bound
 * parameters (a password hash among them) in their message, so only the driver's own
 * cause is kept, and never more than its first line. */
export function describe(err: unknown): Record<string, string> {
  if (!(err instanceof Error)) return { error: typeof err };
  const source = err instanceof DrizzleQueryError ? err.cause : err;
  if (!(source instanceof Error)) return { error: err.name };
  return { error: source.name, detail: source.message.split("\n")[0]?.slice(0, 300) ?? "" };
}

/** The JSON message when the database has no tables: safe to say, and it points the way. */
export const MISSING_TABLES_MESSAGE = "Server is misconfigured: the database migrations have not been applied";

/** The log line's detail for a database without its tables: the cause and the fix. */
export function missingTableDetail(table: string): string {
  return `D1 has no table "${table}": the migrations were not applied. Locally run \`npm run db:migrate:local\` (\`npm run dev\` does it before starting; plain \`wrangler dev\` does not); deployed, \`npm run db:migrate:remote\``;
}

/** The table named by a "no such table" error from D1 (an error, or the cause of one), if any. */
export function missingTable(err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const match = /no such table: (\w+)/.exec(e.message);
    if (match) return match[1];
  }
  return undefined;
}

/** D1 failures (unavailable, overloaded, reset) are worth a retry; bugs are not. */
function isDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err instanceof DrizzleQueryError || err.name === "DrizzleError" || err.message.startsWith("D1_");
}

function codeForStatus(status: number): ErrorCode {
  const match = (Object.keys(ERRORS) as ErrorCode[]).find((code) => ERRORS[code][0] === status);
  if (status === 400 || !match) return status < 500 ? "invalid_json" : "internal";
  return match;
}
