import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { findByTokenHash } from "../../identity/queries/sessions";
import { MAX_REFRESH_TOKEN_LENGTH } from "../../identity/rotation";
import { hashRefreshToken } from "../../identity/sessions";
import type { Ctx } from "../../platform/context";
import { randomToken, sha256Hex } from "../../platform/crypto";
import type { AppEnv } from "../../platform/env";

// The authorization server's own browser state, on the API's origin and only under /oauth:
// - `__Secure-oauth_session`: the person's sign-in at the authorization server. Its value is
//   the refresh token of a session family of kind `authorization_server` (only its SHA-256
//   is stored, src/identity/sessions.ts), so every event that ends sessions (POST
//   /logout/all, a password change, an admin's disable, account deletion) ends it too. It
//   is never accepted anywhere else (POST /token/refresh refuses every kind but `api`).
// - `__Secure-oauth_browser`: a random value naming this browser, which each waiting
//   authorization request (its `oauth_request` row) is bound to: the forms' CSRF token is
//   that row's value, good only with this cookie beside it.
// Both HttpOnly, Secure (as the refresh cookie always is; browsers accept Secure cookies
// from http://localhost), SameSite=Lax (the client's link to /oauth/authorize is a top-level
// navigation, which Lax lets through; a cross-site POST is not), Path=/oauth.

export const SESSION_COOKIE = "oauth_session";
export const BROWSER_COOKIE = "oauth_browser";
const COOKIE_PATH = "/oauth";

const options = { prefix: "secure", path: COOKIE_PATH, httpOnly: true, secure: true, sameSite: "Lax" } as const;

/** The authorization server's session behind the cookie, when it is live. */
export type BrowserSession = {
  userId: string;
  /** The session family (the row's id is its family's first row). */
  familyId: string;
  /** The account's address, shown on the consent page. */
  email: string;
  amr: string[];
  /** When the person authenticated (OpenID Connect `auth_time`). */
  authTime: Date;
};

/** The live `authorization_server` session whose token the request's cookie holds, or
 * undefined (no cookie, unknown, revoked, expired, rotated, another kind, or its account
 * disabled). */
export function currentSession(c: Context<AppEnv>, ctx: Ctx): Promise<BrowserSession | undefined> {
  return sessionOf(ctx, getCookie(c, SESSION_COOKIE, "secure"));
}

/** The live `authorization_server` session of `token` (the cookie's value), or undefined. */
export async function sessionOf(ctx: Ctx, token: string | undefined): Promise<BrowserSession | undefined> {
  if (!token || token.length > MAX_REFRESH_TOKEN_LENGTH) return undefined;
  const row = await findByTokenHash(ctx.db, await hashRefreshToken(token));
  if (row?.kind !== "authorization_server" || row.revokedAt || row.replacedBy || row.disabled) return undefined;
  if (row.expiresAt <= ctx.now) return undefined;
  return {
    userId: row.userId,
    familyId: row.familyId,
    email: row.email,
    amr: row.amr ? row.amr.split(" ") : [],
    authTime: row.authTime ?? row.lastUsedAt,
  };
}

/** Hands the browser its new session's token (`maxAge`: REFRESH_TTL, seconds). */
export function setSessionCookie(c: Context<AppEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, { ...options, maxAge: c.var.config.refreshTtlSeconds });
}

/** Drops the session cookie (its session ended or was replaced). */
export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, options);
}

/** This browser's value (set now when it had none), as the SHA-256 a request row keeps. */
export async function browserBinding(c: Context<AppEnv>): Promise<string> {
  let value = getCookie(c, BROWSER_COOKIE, "secure");
  if (!value || value.length > 64) {
    value = randomToken();
    setCookie(c, BROWSER_COOKIE, value, options);
  }
  return sha256Hex(value);
}

/** The SHA-256 of this browser's value, or undefined when the request carries none. */
export async function presentedBinding(c: Context<AppEnv>): Promise<string | undefined> {
  const value = getCookie(c, BROWSER_COOKIE, "secure");
  return value && value.length <= 64 ? sha256Hex(value) : undefined;
}

/**
 * True when a form POST comes from our own pages (OWASP CSRF cheat sheet, "Fetch Metadata
 * headers" and "Verifying origin with standard headers"): `Sec-Fetch-Site`, when sent, must
 * be `same-origin`; without it, `Origin`, when sent, must be the API's origin (PUBLIC_URL's,
 * or the request's own). `Sec-Fetch-Site` comes first: under our `Referrer-Policy:
 * no-referrer` browsers send `Origin: null` even for a same-origin form POST (Fetch
 * standard, "serializing a request origin"). Browsers send at least one of them on every
 * POST; a request with neither comes from a program, not from a page another site could
 * make a browser send, and still needs the CSRF token and the browser cookie.
 */
export function fromOwnPage(c: Context<AppEnv>): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) return site === "same-origin";
  const origin = c.req.header("origin");
  if (origin === undefined) return true;
  return origin === c.var.config.publicOrigin || origin === new URL(c.req.url).origin;
}
