import type { Context } from "hono";
import * as z from "zod/mini";
import { exchangeLoginCode } from "../../identity/exchange";
import { passwordLogin } from "../../identity/password-login";
import { factorsQuery, mfaMethods, summary } from "../../identity/queries/factors";
import { revokeFamilyQuery } from "../../identity/queries/sessions";
import { factorOf } from "../../identity/second-factors";
import { completeSecondStep, type MfaAnswer } from "../../identity/second-step";
import type { SignedIn, Started } from "../../identity/sessions";
import { MFA_PURPOSE } from "../../identity/sign-in";
import { type Ctx, ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { email, password } from "../../platform/fields";
import { findSingleUse, singleUseHash } from "../../platform/single-use";
import { bindRequest, findRequest, mintRequest, type WaitingRequest, withinLimit } from "./authorize-flow";
import { type AuthorizationRequest, type Checked, checkRequest, clientRedirect } from "./authorize-request";
import {
  type BrowserSession,
  browserBinding,
  currentSession,
  fromOwnPage,
  presentedBinding,
  sessionOf,
  setSessionCookie,
} from "./browser-session";
import { documentUrl } from "./client-documents";
import { consentNeeded, finishRequest, issueCode, refuseConsent } from "./consent";
import { consentPage, loginPage, secondFactorPage, stopPage } from "./pages";

// The steps of GET/POST /oauth/authorize (RFC 6749 §4.1, OpenID Connect Core §3.1.2):
// the request checked, then the login page when there is no authorization-server session
// (or `prompt=login`, or an `auth_time` older than `max_age`), its second step, the consent
// page when consent is needed, and the redirect with the code. Every sign-in here goes
// through the identity core's one password login, one second step and one code exchange,
// so the lockout, the per-IP limit, bcrypt's timing and the audit are /login's own.

type C = Context<AppEnv>;

/** The session kind started here (src/identity/sessions.ts). */
const family = (now: Date) => ({ kind: "authorization_server" as const, authTime: now });

const loginForm = z.object({ email: email(), password: password("password") });

/** A refusal answered: the 400 page, or the redirect to the client with `error`,
 * `error_description`, `state` and `iss`. */
function refused(c: C, checked: Exclude<Checked, { ok: unknown }>): Response | Promise<Response> {
  if ("page" in checked) return stopPage(c, 400, "This sign-in cannot continue", checked.page);
  const { redirectUri, state, error, description } = checked.redirect;
  const params = { error, error_description: description };
  return c.redirect(clientRedirect(c.var.config.oauth.issuer, redirectUri, state, params), 302);
}

/** An error redirect for a checked request (`login_required`, `consent_required`). */
function redirectError(c: C, request: AuthorizationRequest, error: string, description: string) {
  const params = { error, error_description: description };
  return c.redirect(clientRedirect(c.var.config.oauth.issuer, request.redirectUri, request.state, params), 302);
}

/** True when the session must sign in again for `request`: none, `prompt=login`, or an
 * `auth_time` older than `max_age` seconds (`max_age=0` is `prompt=login`). */
function loginNeeded(request: AuthorizationRequest, session: BrowserSession | undefined, now: Date): boolean {
  if (!session || request.prompt.login) return true;
  return request.maxAge !== undefined && now.getTime() - session.authTime.getTime() >= request.maxAge * 1000;
}

/** At a later step: the session satisfies what the request asked of its sign-in when the
 * request began (`began`): after it for `prompt=login` or `max_age=0` (the login page
 * made it), younger than `max_age` then otherwise. */
function freshEnough(request: AuthorizationRequest, session: BrowserSession, began: Date): boolean {
  const age = began.getTime() - session.authTime.getTime();
  if (request.prompt.login || request.maxAge === 0) return age <= 0;
  return request.maxAge === undefined || age < request.maxAge * 1000;
}

/** GET /oauth/authorize: the request as the client sent it. */
export async function startAuthorization(c: C): Promise<Response> {
  const ctx = ctxOf(c);
  const query = new URL(c.req.url).searchParams;
  // A client_id that is a metadata document's URL costs a fetch and a row to look up:
  // counted before, and over the limit a page (the client is not known good yet).
  const clientIds = query.getAll("client_id");
  const fetches =
    ctx.config.oauth.metadataDocuments &&
    clientIds.length === 1 &&
    documentUrl(clientIds[0] ?? "", ctx.config.oauth) !== undefined;
  if (fetches && !(await withinLimit(ctx))) {
    c.header("Retry-After", "60");
    return stopPage(c, 429, "Too many sign-in requests", "Too many requests came from your network. Wait a minute.");
  }
  const checked = await checkRequest(ctx, query);
  if (!("ok" in checked)) return refused(c, checked);
  const request = checked.ok;
  // Every good request may write (a page's request row, 10 minutes, or a code): counted
  // per IP, and over the limit answered as RFC 6749 §4.1.2.1 says, before any write.
  if (!fetches && !(await withinLimit(ctx))) {
    return redirectError(
      c,
      request,
      "temporarily_unavailable",
      "Too many authorization requests; try again in a minute",
    );
  }
  const session = await currentSession(c, ctx);
  if (loginNeeded(request, session, ctx.now)) {
    if (request.prompt.none) return redirectError(c, request, "login_required", "The person is not signed in");
    const { value } = await newRequestRow(c, ctx, request, null);
    return loginPage(c, request, value);
  }
  return signedIn(c, ctx, request, session as BrowserSession);
}

/** Records a request row bound to this browser; `value` is the forms' CSRF token. */
async function newRequestRow(c: C, ctx: Ctx, request: AuthorizationRequest, userId: string | null) {
  const minted = await mintRequest(ctx, request, await browserBinding(c), userId);
  await minted.insert;
  return minted;
}

/** With a session: the consent page when needed, else the code. `waiting` is the request
 * row of the page the person came from (used up when the code is issued). */
async function signedIn(
  c: C,
  ctx: Ctx,
  request: AuthorizationRequest,
  session: BrowserSession,
  waiting?: { hash: string; csrf: string },
): Promise<Response> {
  if (await consentNeeded(ctx, request, session.userId)) {
    if (request.prompt.none) return redirectError(c, request, "consent_required", "Consent is needed");
    const csrf = waiting?.csrf ?? (await newRequestRow(c, ctx, request, session.userId)).value;
    return consentPage(c, request, csrf, session.email);
  }
  if (waiting && (await finishRequest(ctx, waiting.hash)).length === 0) return expired(c);
  return c.redirect((await issueCode(ctx, request, session)).location, 302);
}

const expired = (c: C) =>
  stopPage(c, 403, "This page has expired", "This form expired, was already used, or did not come from this page.");

/** POST /oauth/authorize: one of the pages' forms (login, second factor, consent). */
export async function continueAuthorization(c: C): Promise<Response> {
  if (!fromOwnPage(c)) {
    return stopPage(c, 403, "Request refused", "This form was sent from another site. Nothing was changed.");
  }
  const ctx = ctxOf(c);
  const form = await c.req.parseBody();
  const field = (name: string) => (typeof form[name] === "string" ? (form[name] as string) : undefined);
  const csrf = field("csrf_token");
  const waiting = await findRequest(ctx, csrf, await presentedBinding(c));
  if (!waiting || csrf === undefined) return expired(c);
  const checked = await checkRequest(ctx, waiting.params);
  if (!("ok" in checked)) return refused(c, checked);
  const request = checked.ok;
  const state = { request, waiting, csrf };
  const decision = field("decision");
  if (decision !== undefined) return consentStep(c, ctx, state, decision);
  const mfaToken = field("mfa_token");
  if (mfaToken !== undefined) return secondStep(c, ctx, state, mfaToken, field("code"), field("webauthn"));
  return loginStep(c, ctx, state, field("email"), field("password"));
}

type Step = { request: AuthorizationRequest; waiting: WaitingRequest; csrf: string };

async function consentStep(c: C, ctx: Ctx, { request, waiting, csrf }: Step, decision: string) {
  if (decision !== "allow" && decision !== "deny") return stopPage(c, 400, "Unknown answer", "Choose Allow or Deny.");
  const session = await currentSession(c, ctx);
  if (!session || !freshEnough(request, session, waiting.row.createdAt)) {
    return loginPage(c, request, csrf, { message: "Sign in again to continue." });
  }
  // The page was shown to one account (the row is bound to it when it was shown or when
  // that account signed in on it); another signed in since (another tab): ask again.
  if (waiting.row.userId !== session.userId) return expired(c);
  if ((await finishRequest(ctx, waiting.hash)).length === 0) return expired(c);
  const outcome =
    decision === "allow"
      ? await issueCode(ctx, request, session, { consented: true })
      : await refuseConsent(ctx, request, session.userId);
  return c.redirect(outcome.location, 302);
}

async function loginStep(c: C, ctx: Ctx, step: Step, emailText?: string, passwordText?: string) {
  const parsed = z.safeParse(loginForm, { email: emailText, password: passwordText });
  if (!parsed.success) {
    const message = "Enter your email address and your password.";
    return loginPage(c, step.request, step.csrf, { message, email: emailText, status: 401 });
  }
  return finishSignIn(
    c,
    ctx,
    step,
    () => passwordLogin(ctx, { ...parsed.data, transport: "body", family: family(ctx.now) }),
    parsed.data.email,
  );
}

async function secondStep(c: C, ctx: Ctx, step: Step, mfaToken: string, code?: string, webauthn?: string) {
  const answer: MfaAnswer = { mfa_token: mfaToken, refresh_transport: "body" };
  if (webauthn) {
    try {
      const parsed: unknown = JSON.parse(webauthn);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
        answer.webauthn = parsed as Record<string, unknown>;
    } catch {
      // Not an assertion: refused below like a wrong code.
    }
    answer.webauthn ??= {};
  } else if (factorOf(code ?? "") === "totp") {
    answer.code = code;
  } else {
    answer.recovery_code = code ?? "";
  }
  return finishSignIn(c, ctx, step, () => completeSecondStep(ctx, answer, family(ctx.now)), undefined, mfaToken);
}

/** Runs a sign-in (`attempt`, counted against the per-IP login limit) and answers: the
 * session cookie and the next step, or the page again with what went wrong. */
async function finishSignIn(
  c: C,
  ctx: Ctx,
  { request, waiting, csrf }: Step,
  attempt: () => Promise<Started<SignedIn>>,
  email?: string,
  mfaToken?: string,
): Promise<Response> {
  let started: Started<SignedIn>;
  try {
    await ctx.limit("LOGIN_RATE_LIMIT");
    started = await attempt();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.code === "mfa_required") {
      const { mfa_token, mfa_methods } = err.extra as { mfa_token: string; mfa_methods: string[] };
      return secondFactorPage(c, request, csrf, { mfaToken: mfa_token, methods: mfa_methods });
    }
    const message = MESSAGES[err.code] ?? "Signing in did not work. Try again.";
    const status = err.code === "rate_limited" ? 429 : err.code === "email_not_verified" ? 403 : 401;
    if (mfaToken !== undefined && err.code !== "email_not_verified") {
      const methods = await methodsOf(ctx, mfaToken);
      if (methods)
        return secondFactorPage(c, request, csrf, {
          mfaToken,
          methods,
          message: MFA_MESSAGES[err.code] ?? message,
          status: status as 401 | 429,
        });
      return loginPage(c, request, csrf, { message: "Too many wrong codes: sign in again.", status: 401 });
    }
    return loginPage(c, request, csrf, { message, email, status });
  }
  const previous = await currentSession(c, ctx);
  const session = await sessionOf(ctx, started.body.refresh_token);
  if (!session) return expired(c);
  const bind = bindRequest(ctx, waiting.hash, session.userId);
  await (previous
    ? ctx.db.batch([bind, revokeFamilyQuery(ctx.db, previous.userId, previous.familyId, ctx.now)])
    : bind);
  setSessionCookie(c, started.body.refresh_token);
  return signedIn(c, ctx, request, session, { hash: waiting.hash, csrf });
}

const MESSAGES: Partial<Record<string, string>> = {
  invalid_credentials: "Wrong email or password.",
  rate_limited: "Too many attempts. Wait a few minutes, then try again.",
  email_not_verified: "Confirm your email address first: open the link we mailed you, then sign in.",
  invalid_code: "That sign-in expired or was already used. Try again.",
};
const MFA_MESSAGES: Partial<Record<string, string>> = {
  invalid_credentials: "That code did not work. Try again.",
};

/** The methods of the account whose live `mfa_token` this is, or undefined when it died. */
async function methodsOf(ctx: Ctx, mfaToken: string): Promise<string[] | undefined> {
  const hash = await singleUseHash(mfaToken);
  const [row] = hash ? await findSingleUse(ctx.db, hash, MFA_PURPOSE, ctx.now) : [];
  if (!row?.userId) return undefined;
  const [counts] = await factorsQuery(ctx.db, row.userId);
  return mfaMethods(summary(counts));
}

/** GET /oauth/authorize/social: back from a social sign-in started on the login page, with
 * the one-time `code` (or `error`) and the request's `csrf_token`; the code is traded here,
 * server-side, for an authorization-server session. */
export async function socialReturn(c: C): Promise<Response> {
  const ctx = ctxOf(c);
  const csrf = c.req.query("csrf_token");
  const waiting = await findRequest(ctx, csrf, await presentedBinding(c));
  if (!waiting || csrf === undefined) return expired(c);
  const checked = await checkRequest(ctx, waiting.params);
  if (!("ok" in checked)) return refused(c, checked);
  const step = { request: checked.ok, waiting, csrf };
  const code = c.req.query("code");
  if (!code) {
    const message = "Signing in with that provider did not finish. Try again, or use your password.";
    return loginPage(c, step.request, csrf, { message, status: 401 });
  }
  return finishSignIn(c, ctx, step, () => exchangeLoginCode(ctx, code, "body", family(ctx.now)));
}
