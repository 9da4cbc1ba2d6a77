import { Hono, type MiddlewareHandler } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { mediaType } from "../../platform/http/json-body";
import { describe, named, type RouteDoc } from "../../platform/openapi/describe";
import { continueAuthorization, socialReturn, startAuthorization } from "./authorize-steps";

// GET/POST /oauth/authorize and the return from a social sign-in started on its login page.
// Every answer is an HTML page or a redirect (never the API's JSON envelope): the person's
// browser is what talks to these routes. With OAUTH_PROVIDER off they are 404.

/** 404 unless OAUTH_PROVIDER is on. */
const providerOn: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.config.oauth.enabled) throw new ApiError("not_found");
  await next();
};

const FORM = "application/x-www-form-urlencoded";

/** What the pages' forms post: the page's `csrf_token` and one step's fields. */
const authorizeForm = named(
  "AuthorizeForm",
  z.object({
    csrf_token: z.string(),
    email: z.optional(z.string()),
    password: z.optional(z.string()),
    mfa_token: z.optional(z.string()),
    code: z.optional(z.string()),
    webauthn: z.optional(z.string()),
    decision: z.optional(z.enum(["allow", "deny"])),
  }),
);

const PAGE = { "text/html": "<!doctype html>…" } as const;

const AUTHORIZE_PARAMS: Record<string, string> = {
  response_type:
    "Required: `code` (missing: redirect with `error=invalid_request`; anything else: `error=unsupported_response_type`)",
  client_id: "Required: a registered client (or a client ID metadata document's URL)",
  redirect_uri:
    "Required, even when the client registered only one: one of its redirect URIs exactly (a public client's loopback `http://127.0.0.1`, `http://[::1]` or `http://localhost` URI matches on any port, RFC 8252 §7.3)",
  code_challenge: "Required: PKCE S256 challenge (RFC 7636), 43 to 128 characters",
  code_challenge_method: "Required: `S256` (`plain` or none: `error=invalid_request`)",
  state: "Returned as sent on every redirect",
  scope:
    "Space-separated; each one the provider knows and the client may ask for, else `error=invalid_scope`. Empty or absent: no scope is granted (the tokens only say who signed in)",
  nonce: "OpenID Connect: put in the id_token as sent",
  resource:
    "RFC 8707: one of OAUTH_RESOURCES exactly (a trailing slash counts), at most one; else `error=invalid_target`",
  prompt:
    "`none` (no page: `error=login_required` or `consent_required` when one would be needed), `login` (sign in again), `consent` (ask again)",
  max_age: "Seconds: a sign-in older than this signs in again (`0` is `prompt=login`)",
  response_mode: "`query` or absent (anything else: `error=invalid_request`)",
  request: "Not supported: `error=request_not_supported` (OpenID Connect Core §6)",
  request_uri: "Not supported: `error=request_uri_not_supported` (OpenID Connect Core §6)",
};

const authorizeDoc: RouteDoc = {
  operationId: "authorize",
  tag: "OAuth",
  summary: "OAuth 2.1 / OpenID Connect authorization endpoint",
  description:
    "A browser navigation from the client (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2). Until `client_id` and `redirect_uri` are known good, any error is a **400 HTML page**, never a redirect. After that an error is a **302** to `redirect_uri` with `error`, `error_description`, `state` (when sent) and `iss` (RFC 9207). Without an authorization-server session (the HttpOnly `__Secure-oauth_session` cookie, Path=/oauth), or with `prompt=login` or an older `max_age`, the answer is the **login page** (200); with one, the **consent page** (200) when the client is not first-party and asks for scopes not granted yet (or `prompt=consent`); otherwise a **302** to `redirect_uri` with `code` (single-use, OAUTH_CODE_TTL), `state` and `iss`. A client registered without the `authorization_code` grant: `error=unauthorized_client`. `prompt=select_account` is accepted and changes nothing (one account per browser session). A request that passes the checks counts against the per-IP OAUTH_AUTHORIZE_RATE_LIMIT (each may write a request row or a code); over it: `error=temporarily_unavailable`, nothing written (a `client_id` that is a metadata document's URL counts before it is fetched; over the limit then, a 429 page with Retry-After). HEAD (a link preview) shows nothing and issues nothing: 405. 404 while OAUTH_PROVIDER is off.",
  access: "public",
  query: AUTHORIZE_PARAMS,
  ok: {
    status: 200,
    description:
      "The login or consent page (text/html, no-store, CSP with a nonce, frame-ancestors 'none'); or 302 to `redirect_uri` with `code` or `error`, `state` and `iss`; or 400 text/html when the client or redirect URI is not known good",
    text: PAGE,
    cacheControl: "no-store",
  },
  errors: ["not_found"],
};

const continueDoc: RouteDoc = {
  operationId: "authorizeForm",
  tag: "OAuth",
  summary: "The login, second-factor and consent forms of the authorization endpoint",
  description:
    "What the pages of GET /oauth/authorize post (`application/x-www-form-urlencoded`, else 415), each with the page's `csrf_token` (bound to this browser by the HttpOnly `__Secure-oauth_browser` cookie, 10 minutes). `email` + `password`: the login (same lockout, per-IP limit, timing and audit as POST /login; a wrong one answers the page again with 401, a locked account 429); `mfa_token` + `code` (a TOTP or recovery code) or `webauthn` (a passkey assertion): the second step; `decision` = `allow` or `deny`: the consent (302 to `redirect_uri` with `code`, or with `error=access_denied`; `state` and `iss` on both). A form sent from another site (`Origin` or `Sec-Fetch-Site`) or with a missing, wrong, used or expired token: 403 HTML page, nothing changed. 404 while OAUTH_PROVIDER is off.",
  access: "public",
  form: authorizeForm,
  ok: {
    status: 302,
    location: "`redirect_uri` with `code` (or `error`), `state` and `iss`; or the next page (200 text/html)",
    description:
      "To the client, or the next page (200); 401/403/429 text/html pages for wrong credentials, refused forms and locks",
    text: PAGE,
    cacheControl: "no-store",
  },
  errors: ["not_found"],
};

const socialDoc: RouteDoc = {
  operationId: "authorizeSocialReturn",
  tag: "OAuth",
  summary: "Back from a social sign-in started on the authorization endpoint's login page",
  description:
    "The `redirect_to` of the login page's social buttons (on the API's own origin): the one-time `code` is traded here, server-side, for an authorization-server session (or the second-factor page), then the flow continues (consent page or 302 to the client). `csrf_token` must be the login page's, in the browser it was shown to (else 403 HTML page); an `error` or a dead code shows the login page again. 404 while OAUTH_PROVIDER is off.",
  access: "public",
  query: { csrf_token: "The login page's", code: "The social sign-in's one-time code", error: "Or why it failed" },
  ok: {
    status: 200,
    description: "The consent or second-factor page, or 302 to the client with `code`, `state` and `iss`",
    text: PAGE,
    cacheControl: "no-store",
  },
  errors: ["not_found"],
};

/** GET/POST /oauth/authorize (RFC 6749 §4.1, OpenID Connect Core §3.1.2) and GET
 * /oauth/authorize/social. */
export const oauthAuthorize = new Hono<AppEnv>()
  .get("/oauth/authorize", describe(authorizeDoc), providerOn, (c) =>
    // A link preview's HEAD shows no page and issues no code.
    c.req.method === "HEAD" ? c.body(null, 405, { Allow: "GET, POST" }) : startAuthorization(c),
  )
  .post("/oauth/authorize", describe(continueDoc), providerOn, (c) => {
    if (mediaType(c) !== FORM) throw new ApiError("unsupported_media_type", `Content-Type must be ${FORM}`);
    return continueAuthorization(c);
  })
  .get("/oauth/authorize/social", describe(socialDoc), providerOn, (c) =>
    // A link preview's HEAD spends no one-time code.
    c.req.method === "HEAD" ? c.body(null, 405, { Allow: "GET" }) : socialReturn(c),
  );
