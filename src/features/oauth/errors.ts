import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

// The OAuth endpoints' errors: the RFC shape `{"error": "...", "error_description": "..."}`
// (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 7009 §2.2.1, RFC 6750 §3), never the API's own
// envelope: OAuth clients (openid-client, the MCP SDK) parse only this shape.

/** The error codes the OAuth endpoints answer (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1,
 * RFC 7591 §3.2.2, RFC 8707 §2, OpenID Connect Core §3.1.2.6). */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "unsupported_token_type"
  | "invalid_scope"
  | "invalid_target"
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable"
  | "invalid_token"
  | "insufficient_scope"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "login_required"
  | "consent_required"
  | "interaction_required"
  | "request_not_supported"
  | "request_uri_not_supported";

/** An OAuth error to answer as `{error, error_description}` with `status` (400 unless
 * given) and, for `invalid_client` over Basic or a Bearer error, `wwwAuthenticate`. */
export class OAuthError extends Error {
  override name = "OAuthError";
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: ContentfulStatusCode = 400,
    readonly wwwAuthenticate?: string,
  ) {
    super(description);
  }
}

/** The JSON answer of `err`: `Cache-Control: no-store` (RFC 6749 §5.1), `WWW-Authenticate` when set. */
export function oauthErrorResponse(c: Context, err: OAuthError): Response {
  c.header("Cache-Control", "no-store");
  if (err.wwwAuthenticate) c.header("WWW-Authenticate", err.wwwAuthenticate);
  return c.json({ error: err.error, error_description: err.description }, err.status);
}
