import type { ErrorHandler, NotFoundHandler } from "hono";
import { OAuthError, type OAuthErrorCode, oauthErrorResponse } from "./errors";

// Every error of the provider's JSON endpoints (`/oauth/*` but the authorize pages, which
// answer HTML) in the RFC shape `{error, error_description}`: the ones they throw
// themselves (`OAuthError`) and the app's own (a malformed body, 413, 429 from the per-IP
// limit, 404 when the provider is off, 405, a D1 outage, a bug), which the API's handler
// answers first (status, headers, log line) and this one re-shapes. The MCP SDK throws
// "Invalid OAuth error response" on anything else.

/** True for the paths whose errors take the RFC shape. */
export function isOAuthJsonPath(path: string): boolean {
  return path.startsWith("/oauth/") && !path.startsWith("/oauth/authorize");
}

/** The RFC code an API error code becomes, by its status. */
function oauthCodeFor(status: number, code: string | undefined): OAuthErrorCode {
  if (code === "invalid_token") return "invalid_token";
  if (status === 429 || status === 503) return "temporarily_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request";
}

/** `res` (the API's JSON envelope) as the same answer in the RFC shape. */
async function reshape(res: Response): Promise<Response> {
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = await res.clone().json();
  } catch {
    // Not JSON: described by its status alone.
  }
  const headers = new Headers(res.headers);
  headers.set("Cache-Control", "no-store");
  headers.set("Pragma", "no-cache");
  headers.set("Content-Type", "application/json");
  const error = oauthCodeFor(res.status, body.error?.code);
  const description = body.error?.message ?? "The request failed";
  return new Response(JSON.stringify({ error, error_description: description }), { status: res.status, headers });
}

/** `onError` for the whole app: the provider's JSON endpoints answer the RFC shape. */
export function oauthAwareOnError(onError: ErrorHandler): ErrorHandler {
  return async (err, c) => {
    if (!isOAuthJsonPath(c.req.path)) return onError(err, c);
    if (err instanceof OAuthError) return oauthErrorResponse(c, err);
    return reshape(await onError(err, c));
  };
}

/** `notFound` likewise: an unknown `/oauth/...` path answers 404 `invalid_request`. */
export function oauthAwareNotFound(notFound: NotFoundHandler): NotFoundHandler {
  return async (c) => {
    const res = await notFound(c);
    return isOAuthJsonPath(c.req.path) ? reshape(res) : res;
  };
}
