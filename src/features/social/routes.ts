import type { Context } from "hono";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { requireSession } from "../../identity/guards";
import { listIdentities } from "../../identity/queries/identities";
import { identityJson } from "../../identity/schemas";
import type { SocialProvider } from "../../platform/config";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody } from "../../platform/http/json-body";
import { describe } from "../../platform/openapi/describe";
import { allowedRedirect, redirectWith } from "../../platform/redirects";
import { startLink, takeLink, unlink } from "./linking";
import { REPOSTED, repostPage, untrustedCallbackPage } from "./pages";
import { CALLBACK_ERRORS, SocialFailure } from "./protocol";
import { authorizeUrlJson, identityList, linkBody, providerList } from "./schemas";
import { finishCallback, STATE_TTL_SECONDS, startTrip, UntrustedCallback } from "./service";

/** The cookie that binds a trip to the browser that started it (HttpOnly, SameSite=Lax). */
const STATE_COOKIE = "social_state";
const COOKIE_PATH = "/login/social";
const utf8 = new TextDecoder();
const ERROR_LIST = CALLBACK_ERRORS.map((code) => `\`${code}\``).join(", ");

/** The provider `id` of SOCIAL_PROVIDERS, or 404 `not_found`. */
function providerOf<E extends AppEnv>(c: Context<E>, id: string): SocialProvider {
  const providers: readonly SocialProvider[] = (c as unknown as Context<AppEnv>).var.config.social.providers;
  const provider = providers.find((candidate) => candidate.id === id);
  if (!provider) throw new ApiError("not_found", "No such sign-in provider");
  return provider;
}

/** The callback, for both methods: 302 to the trip's `redirect_to` with `code`,
 * `linked` or `error`; 400 page without a trusted one; the form_post re-post page. */
async function callback(c: Context<AppEnv>, params: URLSearchParams, posted: boolean) {
  const provider = providerOf(c, c.req.param("id") ?? "");
  const cookie = getCookie(c, STATE_COOKIE);
  if (posted && !cookie && params.get(REPOSTED) === null) {
    return repostPage(c, `/login/social/${provider.id}/callback`, params);
  }
  params.delete(REPOSTED);
  try {
    const location = await finishCallback(ctxOf(c), provider, params, cookie);
    deleteCookie(c, STATE_COOKIE, { path: COOKIE_PATH });
    return c.redirect(location, 302);
  } catch (err) {
    if (!(err instanceof UntrustedCallback)) throw err;
    return untrustedCallbackPage(c);
  }
}

const callbackDoc = (method: "GET" | "POST") =>
  describe({
    operationId: method === "GET" ? "socialCallback" : "socialCallbackFormPost",
    tag: "Auth",
    summary:
      method === "GET" ? "Where the provider sends the browser back" : "Where a form_post provider (Apple) posts back",
    description: `Registered at the provider as \`<PUBLIC_URL>/login/social/{id}/callback\`. Uses the trip's state row up (a replayed callback fails), checks the browser's \`social_state\` cookie, RFC 9207's \`iss\`, trades the code with the PKCE verifier and checks the id_token (signature against the provider's JWKS; \`iss\`, \`aud\`/\`azp\`, \`exp\`/\`iat\` within 60 s, \`nonce\`; RS256, ES256, EdDSA). Success: **302** to \`redirect_to\` with \`code=<one-time code>\` for POST /login/exchange (or \`linked=<provider>\` when linking). Failure: 302 to \`redirect_to\` with \`error=\` one of ${ERROR_LIST} and no \`code\`. A state that is unknown, expired or used, or a missing cookie: 400 with an HTML page (no trusted redirect).${method === "POST" ? " A cross-site form POST that arrives without the SameSite=Lax cookie gets a 200 same-origin page that posts the same fields again, so the cookie comes along." : ""}`,
    access: "public",
    params: { id: "The provider id" },
    ...(method === "GET" && {
      query: { state: "From the provider", code: "From the provider", iss: "RFC 9207", error: "From the provider" },
    }),
    ok: {
      status: 302,
      description: "To `redirect_to` with `code`, `linked` or `error`; 400 text/html without a trusted one",
      text: { "text/html": "<!doctype html>…" },
    },
    errors: ["not_found"],
  });

/** HEAD (which Hono answers with the GET handler) would start a trip, spend a one-time
 * `link` or a trip's state: a link preview or a prefetch must not. 405 with `Allow`. */
function refuseHead(c: Context<AppEnv>, allow: string): void {
  if (c.req.method === "HEAD") throw new ApiError("method_not_allowed", undefined, undefined, { Allow: allow });
}

/** Social sign-in (docs/social-login.md): the providers, the trip there and back, and
 * the account's linked identities. */
export const socialRoutes = new Hono<AppEnv>()
  .get(
    "/login/social",
    describe({
      operationId: "socialProviders",
      tag: "Auth",
      summary: "The social sign-in providers",
      description:
        "The providers of SOCIAL_PROVIDERS, in that order, for a sign-in page's buttons. Cacheable for a minute.",
      access: "public",
      ok: {
        status: 200,
        description: "The providers (empty when social sign-in is off)",
        json: providerList,
        cacheControl: "public, max-age=60",
      },
      database: false,
    }),
    (c) => {
      c.header("Cache-Control", "public, max-age=60");
      const providers = c.var.config.social.providers.map(({ id, name }) => ({ id, name }));
      return c.json({ providers }, 200);
    },
  )
  .get(
    "/login/social/:id",
    describe({
      operationId: "startSocialLogin",
      tag: "Auth",
      summary: "Go to a provider to sign in",
      description: `A browser navigation (not fetch). 302 to the provider's authorization endpoint with \`response_type=code\`, \`client_id\`, \`redirect_uri\` (\`<PUBLIC_URL>/login/social/{id}/callback\`), \`scope\`, \`state\`, \`nonce\` (OpenID Connect), \`code_challenge\` and \`code_challenge_method=S256\`, and the HttpOnly \`social_state\` cookie (SameSite=Lax, Path=/login/social, 10 minutes; Secure unless PUBLIC_URL is http) that binds the trip to this browser. \`redirect_to\` is required: an absolute URL on an origin of SOCIAL_REDIRECT_ORIGINS, else 400 invalid_redirect. \`link\` is the one-time value of POST /me/identities/{provider}'s \`authorize_url\` (400 invalid_code when used, expired or for another provider). A provider that cannot be reached: 302 to \`redirect_to\` with \`error=provider_error\`. Per-IP limited (429). HEAD (a link preview) starts nothing and spends nothing: 405.`,
      access: "public",
      params: { id: "A provider id from GET /login/social" },
      query: {
        redirect_to: "Required: where to come back to",
        link: "Only in POST /me/identities/{provider}'s authorize_url",
      },
      ok: { status: 302, description: "To the provider (or to `redirect_to` with `error=provider_error`)" },
      errors: ["not_found", "invalid_redirect", "invalid_code", "rate_limited"],
    }),
    async (c) => {
      refuseHead(c, "GET");
      const provider = providerOf(c, c.req.param("id"));
      const redirectTo = allowedRedirect(c.var.config, c.req.query("redirect_to"));
      const ctx = ctxOf(c);
      await ctx.limit("LOGIN_RATE_LIMIT");
      const link = c.req.query("link");
      const userId = link === undefined ? undefined : await takeLink(ctx, link, provider);
      try {
        const { location, cookie } = await startTrip(ctx, provider, redirectTo, userId);
        const secure = c.var.config.mail.publicUrl.startsWith("https:");
        setCookie(c, STATE_COOKIE, cookie, {
          httpOnly: true,
          sameSite: "Lax",
          secure,
          path: COOKIE_PATH,
          maxAge: STATE_TTL_SECONDS,
        });
        return c.redirect(location, 302);
      } catch (err) {
        if (!(err instanceof SocialFailure)) throw err;
        ctx.log("warn", "social_login_failed", { provider: provider.id, reason: err.code, detail: err.detail });
        return c.redirect(redirectWith(redirectTo, { error: err.code }), 302);
      }
    },
  )
  .get("/login/social/:id/callback", callbackDoc("GET"), (c) => {
    refuseHead(c, "GET, POST");
    return callback(c, new URL(c.req.url).searchParams, false);
  })
  .post("/login/social/:id/callback", callbackDoc("POST"), async (c) =>
    // As bytes: workerd warns on .text() of a form-urlencoded body (not a text/* type).
    callback(c, new URLSearchParams(utf8.decode(await c.req.arrayBuffer())), true),
  )
  .get(
    "/me/identities",
    describe({
      operationId: "listIdentities",
      tag: "Account",
      summary: "The social identities linked to the account",
      access: "session",
      ok: { status: 200, description: "Oldest first", json: identityList, cacheControl: "no-store" },
    }),
    requireSession,
    async (c) => c.json({ identities: (await listIdentities(c.var.db, c.var.user.id)).map(identityJson) }, 200),
  )
  .post(
    "/me/identities/:provider",
    describe({
      operationId: "linkIdentity",
      tag: "Account",
      summary: "Start linking a provider's identity to the account",
      description:
        "Answers `authorize_url`: send the browser there (a navigation). It goes to the provider and comes back to `redirect_to` with `linked=<provider>` once the identity is linked to this account (whatever its email; the account's email never changes), or `error=identity_in_use` when another account has it (other errors as for sign-in). The URL works once, within 10 minutes.",
      access: "session",
      params: { provider: "A provider id from GET /login/social" },
      ok: { status: 200, description: "Where to send the browser", json: authorizeUrlJson, cacheControl: "no-store" },
      errors: ["invalid_input", "not_found", "invalid_redirect"],
    }),
    requireSession,
    jsonBody(linkBody),
    async (c) => {
      const provider = providerOf(c, c.req.param("provider"));
      const redirectTo = allowedRedirect(c.var.config, c.req.valid("json").redirect_to);
      return c.json({ authorize_url: await startLink(ctxOf(c), c.var.user, provider, redirectTo) }, 200);
    },
  )
  .delete(
    "/me/identities/:id",
    describe({
      operationId: "unlinkIdentity",
      tag: "Account",
      summary: "Unlink a social identity",
      description:
        "409 last_sign_in_method when the account has no password, no passkey and no other identity: set a password (POST /password/forgot) or add a passkey first.",
      access: "session",
      params: { id: "An identity id from GET /me/identities" },
      ok: { status: 204, description: "Unlinked" },
      errors: ["not_found", "last_sign_in_method"],
    }),
    requireSession,
    async (c) => {
      await unlink(ctxOf(c), c.var.user, c.req.param("id"));
      return c.body(null, 204);
    },
  );
