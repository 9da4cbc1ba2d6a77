import { DrizzleQueryError } from "drizzle-orm/errors";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { log } from "./log";

/** Every error code the API can answer with, its status and default message.
 * Messages keep the tutorial's words where it had them: clients match on them. */
export const ERRORS = {
  invalid_input: [400, "All input is required"],
  invalid_json: [400, "Request body must be a JSON object"],
  invalid_credentials: [400, "Invalid Credentials"],
  invalid_token: [401, "Invalid Token"],
  token_required: [403, "A token is required for authentication"],
  forbidden: [403, "You do not have permission to do this"],
  mfa_required: [403, "A second factor is required: send it to POST /login/mfa with the mfa_token"],
  not_found: [404, "Not Found"],
  method_not_allowed: [405, "Method Not Allowed"],
  user_exists: [409, "User Already Exist. Please Login"],
  last_admin: [409, "This would leave no enabled admin"],
  mfa_already_enabled: [409, "TOTP is already enabled: disable it first"],
  payload_too_large: [413, "Request body is larger than 16 KiB"],
  unsupported_media_type: [415, "Content-Type must be application/json"],
  rate_limited: [429, "Too many attempts, try again later"],
  internal: [500, "Internal Server Error"],
  server_misconfigured: [500, "Server is misconfigured"],
  service_unavailable: [503, "Service temporarily unavailable, try again shortly"],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

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
