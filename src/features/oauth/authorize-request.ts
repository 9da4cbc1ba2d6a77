import type { Ctx } from "../../platform/context";
import { findClient, type OAuthClient } from "./clients";
import type { OAuthErrorCode } from "./errors";
import { parseScope, supportedScopes } from "./scopes";

// An authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2, OpenID Connect
// Core §3.1.2.1) checked in the order the RFCs ask: first the client and its redirect URI
// (until both are known good, an error is a page for the person, never a redirect: RFC
// 6749 §4.1.2.1, or the endpoint would be an open redirector), then every other
// parameter, whose errors go back to the client by redirect with `state` and `iss`
// (RFC 9207). The same check runs again on every later step (the request row keeps the
// parameters, src/features/oauth/authorize-flow.ts), so a client deleted or a resource
// removed meanwhile stops the flow.

/** The parameters read; any other is ignored (RFC 6749 §3.1). Each may appear once,
 * `resource` too (one resource per request: see `checkRequest`). */
export const AUTHORIZE_PARAMS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "code_challenge",
  "code_challenge_method",
  "state",
  "scope",
  "nonce",
  "resource",
  "prompt",
  "max_age",
  "response_mode",
  // Read only to be refused (OpenID Connect Core §6): this provider takes no request objects.
  "request",
  "request_uri",
] as const;

/** Longest value of any one parameter we keep, in UTF-16 code units. */
export const MAX_PARAM_LENGTH = 2048;

/** A checked request: what the login and consent steps show and the code records. */
export type AuthorizationRequest = {
  client: OAuthClient;
  /** Exactly as sent (RFC 6749 §4.1.3: the token request must send the same string). */
  redirectUri: string;
  codeChallenge: string;
  state?: string;
  /** Sorted, without repeats; may be empty (see `checkRequest`). */
  scope: string[];
  nonce?: string;
  resource?: string;
  /** OpenID Connect Core §3.1.2.1. */
  prompt: { none: boolean; login: boolean; consent: boolean };
  /** Seconds; 0 is `prompt=login`. */
  maxAge?: number;
  /** The parameters as sent (only those of `AUTHORIZE_PARAMS`), kept for the next step. */
  params: [string, string][];
};

/** Where a request stops: a 400 page (client or redirect URI not known good), or an
 * error redirect to the client. */
export type Refusal =
  | { page: string }
  | { redirect: { redirectUri: string; state?: string; error: OAuthErrorCode; description: string } };

export type Checked = { ok: AuthorizationRequest } | Refusal;

/** The loopback hosts of native apps' redirect URIs (RFC 8252 §7.3). */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** True when `sent` is one of `client`'s redirect URIs: the same string, or, for a public
 * client, a loopback `http` URI that differs from a registered loopback one only in its
 * port (RFC 8252 §7.3: native apps listen on whatever port is free). */
export function redirectUriMatches(client: OAuthClient, sent: string): boolean {
  if (client.redirectUris.includes(sent)) return true;
  if (client.type !== "public" || !URL.canParse(sent)) return false;
  const url = new URL(sent);
  if (url.protocol !== "http:" || !LOOPBACK_HOSTS.has(url.hostname) || url.hash !== "" || url.username !== "") {
    return false;
  }
  return client.redirectUris.some((registered) => {
    if (!URL.canParse(registered)) return false;
    const known = new URL(registered);
    return (
      known.protocol === "http:" &&
      known.hostname === url.hostname &&
      known.pathname === url.pathname &&
      known.search === url.search
    );
  });
}

/** The PKCE challenge's shape (RFC 7636 §4.2): 43 to 128 unreserved characters; S256's is 43. */
const CODE_CHALLENGE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** The values of each known parameter, in order; one sent without a value counts as
 * omitted (RFC 6749 §3.1). */
function valuesOf(params: Iterable<[string, string]>) {
  const values = new Map<string, string[]>();
  const kept: [string, string][] = [];
  for (const [name, value] of params) {
    if (value === "" || !(AUTHORIZE_PARAMS as readonly string[]).includes(name)) continue;
    values.set(name, [...(values.get(name) ?? []), value]);
    kept.push([name, value]);
  }
  return { values, kept };
}

/**
 * Checks an authorization request's parameters (`params`: a query or a kept request).
 * Page (400): `client_id` missing, repeated or unknown; `redirect_uri` missing (OAuth 2.1
 * requires it even when the client registered one), repeated or not registered.
 * Redirect: `request_not_supported` / `request_uri_not_supported` (OpenID Connect Core
 * §6: a request object, by value or by reference); `invalid_request` (no `response_type`);
 * `unsupported_response_type` (not `code`); `unauthorized_client` (a client
 * registered without the `authorization_code` grant); `invalid_request` (a repeated
 * parameter, a missing or malformed `code_challenge`, a `code_challenge_method` other than
 * `S256` (`plain` included), a bad `prompt` or `max_age`, an oversized value);
 * `request_not_supported` / `request_uri_not_supported` (a request object, OpenID Connect
 * Core §6.1/§6.2); `invalid_request` for a `response_mode` other than `query`;
 * `invalid_scope` (a scope the provider does not know or the client may not ask for);
 * `invalid_target` (a `resource` not in OAUTH_RESOURCES exactly, or more than one).
 * An empty or absent `scope` is accepted and grants no scope: the code and its tokens
 * then only say who signed in (MCP clients often send none).
 */
export async function checkRequest(ctx: Ctx, params: Iterable<[string, string]>): Promise<Checked> {
  const { values, kept } = valuesOf(params);
  const one = (name: string) => values.get(name)?.[0];
  const clientIds = values.get("client_id") ?? [];
  if (clientIds.length !== 1 || !clientIds[0]) return { page: "The request names no application (client_id)." };
  const client = await findClient(ctx, clientIds[0]);
  if (!client) return { page: "The application that sent you here is not known to this server." };
  const redirectUris = values.get("redirect_uri") ?? [];
  const redirectUri = redirectUris[0];
  if (redirectUris.length !== 1 || !redirectUri) {
    return { page: "The request does not say where to send you back (redirect_uri)." };
  }
  if (!redirectUriMatches(client, redirectUri)) {
    return { page: "The address the application asked to send you back to is not one it registered." };
  }
  const states = values.get("state") ?? [];
  const state = states[0];
  const refuse = (error: OAuthErrorCode, description: string): Refusal => ({
    redirect: { redirectUri, ...(state !== undefined && { state }), error, description },
  });
  for (const [name, list] of values) {
    if (name !== "resource" && list.length > 1) return refuse("invalid_request", `${name} is repeated`);
    if (list.some((value) => value.length > MAX_PARAM_LENGTH)) return refuse("invalid_request", `${name} is too long`);
  }
  // OpenID Connect Core §6: request objects are not supported (discovery says so too).
  if (values.has("request")) return refuse("request_not_supported", "Request objects are not supported");
  if (values.has("request_uri")) return refuse("request_uri_not_supported", "request_uri is not supported");
  const responseType = one("response_type");
  if (!responseType) return refuse("invalid_request", "response_type is required");
  if (responseType !== "code") return refuse("unsupported_response_type", "response_type must be code");
  if (!client.grantTypes.includes("authorization_code")) {
    return refuse("unauthorized_client", "This client may not use the authorization code grant");
  }
  // OAuth 2.0 Multiple Response Type Encoding Practices §2.1: only `query` is supported.
  const responseMode = one("response_mode");
  if (responseMode !== undefined && responseMode !== "query") {
    return refuse("invalid_request", "response_mode must be query");
  }
  const codeChallenge = one("code_challenge");
  if (!codeChallenge) return refuse("invalid_request", "code_challenge is required (PKCE, S256)");
  if (one("code_challenge_method") !== "S256") return refuse("invalid_request", "code_challenge_method must be S256");
  if (!CODE_CHALLENGE.test(codeChallenge)) return refuse("invalid_request", "code_challenge is malformed");

  const prompts = (one("prompt") ?? "").split(" ").filter((value) => value !== "");
  if (prompts.some((value) => !["none", "login", "consent", "select_account"].includes(value))) {
    return refuse("invalid_request", "prompt must be none, login or consent");
  }
  const prompt = {
    none: prompts.includes("none"),
    login: prompts.includes("login"),
    consent: prompts.includes("consent"),
  };
  // OpenID Connect Core §3.1.2.1: none with any other value is an error.
  if (prompt.none && prompts.length > 1) return refuse("invalid_request", "prompt=none cannot be combined");
  const maxAgeText = one("max_age");
  if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText)) {
    return refuse("invalid_request", "max_age must be a number of seconds");
  }

  const scope = parseScope(one("scope"));
  const known = supportedScopes(ctx.config);
  const unknown = scope.find((value) => !known.includes(value) || (client.scope && !client.scope.includes(value)));
  if (unknown !== undefined)
    return refuse("invalid_scope", "A requested scope is unknown or not allowed for this client");

  const resources = values.get("resource") ?? [];
  if (resources.length > 1) return refuse("invalid_target", "Ask for one resource at a time");
  const resource = resources[0];
  if (resource !== undefined && !ctx.config.oauth.resources.includes(resource)) {
    return refuse("invalid_target", "The resource is not one this server issues tokens for");
  }
  const nonce = one("nonce");
  return {
    ok: {
      client,
      redirectUri,
      codeChallenge,
      ...(state !== undefined && { state }),
      scope,
      ...(nonce !== undefined && nonce !== "" && { nonce }),
      ...(resource !== undefined && { resource }),
      prompt,
      ...(maxAgeText !== undefined && { maxAge: Number(maxAgeText) }),
      params: kept,
    },
  };
}

/** The redirect back to the client (RFC 6749 §4.1.2): `redirectUri` exactly as sent with
 * `params`, `state` when the request had one and `iss` (RFC 9207) added to its query. */
export function clientRedirect(
  issuer: string,
  redirectUri: string,
  state: string | undefined,
  params: Record<string, string>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  if (state !== undefined) url.searchParams.set("state", state);
  url.searchParams.set("iss", issuer);
  return url.href;
}
