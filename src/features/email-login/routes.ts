import { type Context, Hono, type MiddlewareHandler } from "hono";
import { deliverSession } from "../../identity/delivery";
import { signedInJson } from "../../identity/schemas";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody, mediaType } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { afterResponse, deliver } from "../../platform/mail/send";
import { describe } from "../../platform/openapi/describe";
import { deadLinkPage, signInPage } from "./pages";
import { emailCodeBody, emailLinkForm, emailLoginBody, emailLoginSent, SENT } from "./schemas";
import {
  checkRedirect,
  type EmailLoginMode,
  linkState,
  requestEmailLogin,
  signInByCode,
  signInByLink,
} from "./service";

// Passwordless sign-in by email (docs/email-login.md): POST /login/email mails a code
// and/or a link; the code signs in at POST /login/email/verify, the link's page at
// POST /login/email/link, which returns to the app with a code for POST /login/exchange.

/** The routes of the modes EMAIL_LOGIN turns on; otherwise 404 `not_found`, as if absent. */
const whenMode =
  (...modes: EmailLoginMode[]): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    if (!modes.includes(c.var.config.settings.EMAIL_LOGIN)) throw new ApiError("not_found");
    await next();
  };

const LINK_PAGE = {
  access: "public",
  ok: { status: 200, description: "An HTML page", text: { "text/html": "<!doctype html>…" }, cacheControl: "no-store" },
} as const;

/** CSRF defence of the link page's form (OWASP CSRF cheat sheet, "Verifying origin with
 * standard headers" and "Fetch Metadata headers"): `Sec-Fetch-Site: same-origin`, or an
 * `Origin` that is this API's own (PUBLIC_URL's or the request's). So another site
 * cannot sign a browser in to an account of its choosing with a link of its own. */
function assertSameOrigin(c: Context<AppEnv>): void {
  if (c.req.header("sec-fetch-site") === "same-origin") return;
  const origin = c.req.header("origin");
  if (origin !== undefined && (origin === c.var.config.publicOrigin || origin === new URL(c.req.url).origin)) return;
  throw new ApiError("forbidden", "This form must be sent from the sign-in page itself");
}

const FORM = "application/x-www-form-urlencoded";

export const emailLogin = new Hono<AppEnv>()
  .post(
    "/login/email",
    describe({
      operationId: "requestEmailLogin",
      tag: "Auth",
      summary: "Mail a sign-in code or link",
      description:
        "Always 202 `{sent: true}` for a well-formed request, at the same speed whether the address has an account, is disabled or locked: the lookup and the mail happen after the answer. A known, enabled account gets a mail with a 6-digit code (EMAIL_LOGIN `code` or `both`) and/or a link (`link`, or `both` with `redirect_to`), valid EMAIL_LOGIN_TTL, saying which app and device asked; unknown addresses get no mail. A new request replaces the previous code and link. `redirect_to` outside SOCIAL_REDIRECT_ORIGINS, or missing with EMAIL_LOGIN=link: 400 invalid_redirect. At most one mail per address per MAIL_COOLDOWN (later requests get the same 202 and send nothing); per-IP limit (429). 404 while EMAIL_LOGIN is `off`.",
      access: "public",
      ok: { status: 202, description: "Accepted; a mail may be on its way", json: emailLoginSent },
      errors: ["invalid_input", "invalid_redirect", "not_found", "rate_limited"],
    }),
    // The mode first: while it is off the route is not there, whatever the body.
    whenMode("code", "link", "both"),
    jsonBody(emailLoginBody),
    rateLimit("MAIL_RATE_LIMIT"),
    (c) => {
      const { email, redirect_to } = c.req.valid("json");
      const redirectTo = checkRedirect(c.var.config, redirect_to);
      // Everything that depends on the address happens after the answer.
      afterResponse(c, "email_login_mail_failed", async () => {
        const mail = await requestEmailLogin(ctxOf(c), email, redirectTo);
        if (mail) await deliver(c, "email_login", mail);
      });
      return c.json(SENT, 202);
    },
  )
  .post(
    "/login/email/verify",
    describe({
      operationId: "verifyEmailLoginCode",
      tag: "Auth",
      summary: "Sign in with an emailed code",
      description:
        "The 6-digit code from POST /login/email's mail, with the same address. The answer is exactly POST /login's, or 403 mfa_required with `mfa_token` and `mfa_methods` when the account has a second factor (the code is one factor, `amr` `otp`): finish at POST /login/mfa. A wrong, expired, used or replaced code is 400 invalid_code; the 5th wrong one ends the code (and its link). Wrong codes count toward the address's lockout as wrong passwords do (429 while locked, even with the right code). Using the code verifies the address. Per-IP login limit (429). 404 unless EMAIL_LOGIN is `code` or `both`.",
      access: "public",
      ok: { status: 200, description: "The user and a fresh token pair", json: signedInJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_code", "mfa_required", "not_found", "rate_limited"],
    }),
    // The mode first: while it is off the route is not there, whatever the body.
    whenMode("code", "both"),
    jsonBody(emailCodeBody),
    rateLimit("LOGIN_RATE_LIMIT"),
    async (c) => c.json(deliverSession(c, await signInByCode(ctxOf(c), c.req.valid("json"))), 200),
  )
  .get(
    "/login/email/link",
    describe({
      operationId: "emailLoginLinkPage",
      tag: "Auth",
      summary: "Page of an emailed sign-in link",
      description:
        'The page the mailed link opens (GET and HEAD, any number of times: mail scanners and link previews spend nothing). A live link shows a "Sign in" button whose form POSTs the token to POST /login/email/link; an expired, used or replaced one shows a page that says so and offers a new one. 404 unless EMAIL_LOGIN is `link` or `both`.',
      query: { token: "The link's token, as the mail has it" },
      ...LINK_PAGE,
      errors: ["not_found"],
    }),
    whenMode("link", "both"),
    async (c) => {
      const token = c.req.query("token") ?? "";
      const state = await linkState(ctxOf(c), token);
      return state.live ? signInPage(c, token) : deadLinkPage(c, 200, state.redirectTo);
    },
  )
  .post(
    "/login/email/link",
    describe({
      operationId: "signInWithEmailLink",
      tag: "Auth",
      summary: "Sign in with an emailed link (the page's button)",
      description:
        "What the link page's form posts (`application/x-www-form-urlencoded`, from the page itself: `Sec-Fetch-Site: same-origin` or this API's `Origin`, else 403 forbidden). Spends the link once, verifies the address, and answers 302 to the request's `redirect_to` with `code=<one-time code>` (60 seconds) for POST /login/exchange: no token in any URL. An expired, used or replaced link answers 400 with an HTML page that says so and offers a new one. 404 unless EMAIL_LOGIN is `link` or `both`.",
      access: "public",
      form: emailLinkForm,
      ok: {
        status: 302,
        description: "Back to the app, with a one-time code",
        location: "`redirect_to` with `code=<one-time code>` for POST /login/exchange",
      },
      errors: ["forbidden", "not_found"],
    }),
    whenMode("link", "both"),
    async (c) => {
      assertSameOrigin(c);
      if (mediaType(c) !== FORM) {
        throw new ApiError("unsupported_media_type", `Content-Type must be ${FORM}`);
      }
      const form = await c.req.parseBody();
      const token = typeof form.token === "string" ? form.token : "";
      const outcome = await signInByLink(ctxOf(c), token);
      if ("dead" in outcome) return deadLinkPage(c, 400, outcome.dead.redirectTo);
      return c.redirect(outcome.location, 302);
    },
  );
