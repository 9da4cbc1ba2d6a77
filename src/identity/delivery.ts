import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { mediaType } from "../platform/http/json-body";
import type { RefreshTransport, Started } from "./sessions";

export type { RefreshTransport };

/** Sent as `__Secure-refresh_token`: hono/cookie adds the prefix and forces `Secure`. */
export const REFRESH_COOKIE = "refresh_token";
/** Only the refresh route (and anything else under /token) ever receives the cookie. */
export const REFRESH_COOKIE_PATH = "/token";

/** What a token-issuing route answers in either transport: in cookie mode the
 * refresh token is left out of the body. */
export type Delivered<T extends { refresh_token: string }> = Omit<T, "refresh_token"> & { refresh_token?: string };

function cookieOptions<E extends AppEnv>(c: Context<E>) {
  const { domain, partitioned, sameSite } = c.var.config.cookie;
  return {
    prefix: "secure",
    path: REFRESH_COOKIE_PATH,
    httpOnly: true,
    secure: true,
    sameSite,
    ...(domain && { domain }),
    ...(partitioned && { partitioned }),
  } as const;
}

/**
 * Hands a response body holding a fresh `refresh_token` to the client the way it asked:
 * `"body"` returns `body` unchanged; `"cookie"` sets
 * `__Secure-refresh_token=<token>; Max-Age=<REFRESH_TTL>; Path=/token; HttpOnly; Secure;
 * SameSite=<COOKIE_SAMESITE>` (plus `Domain`/`Partitioned` when configured) and returns
 * the body without the token. Every route that issues tokens answers through this.
 */
export function deliverTokens<E extends AppEnv, T extends { refresh_token: string }>(
  c: Context<E>,
  body: T,
  transport: RefreshTransport,
): Delivered<T> {
  if (transport === "body") return body;
  const { refresh_token, ...rest } = body;
  setCookie(c, REFRESH_COOKIE, refresh_token, { ...cookieOptions(c), maxAge: c.var.config.refreshTtlSeconds });
  return rest;
}

/** Answers a session just started or rotated (src/identity/sessions.ts): `no-store`, and
 * the refresh token delivered as the client asked (`deliverTokens`). */
export function deliverSession<E extends AppEnv, B extends { refresh_token: string }>(
  c: Context<E>,
  started: Started<B>,
): Delivered<B> {
  c.header("Cache-Control", "no-store");
  return deliverTokens(c, started.body, started.transport);
}

/** Tells the browser to drop the refresh cookie (`Max-Age=0`, same path and domain).
 * Harmless for clients that never had one; called by logout, account deletion and
 * anything else that ends the session. */
export function clearRefreshCookie<E extends AppEnv>(c: Context<E>): void {
  deleteCookie(c, REFRESH_COOKIE, cookieOptions(c));
}

/** The refresh token from the cookie, if the request carries one. */
export function readRefreshCookie<E extends AppEnv>(c: Context<E>): string | undefined {
  return getCookie(c, REFRESH_COOKIE, "secure") || undefined;
}

const FOREIGN = "This request carries the session cookie but does not come from an allowed origin";

/**
 * CSRF defence for a request that authenticates with the cookie, which browsers attach
 * whichever site sends the request: it must be JSON (`content-type: application/json`,
 * so a cross-site form or `text/plain` fetch cannot send it without a CORS preflight)
 * and come from an allowed page: `Origin` listed in `CORS_ORIGINS` or equal to
 * `PUBLIC_URL`'s origin, or `Sec-Fetch-Site: same-origin`. Otherwise 403 `forbidden`.
 * (hono/csrf checks forms only, not JSON bodies.) OWASP CSRF cheat sheet: "Verifying
 * origin with standard headers" and "Fetch Metadata headers".
 */
export function assertCookieRequest<E extends AppEnv>(c: Context<E>): void {
  if (mediaType(c) !== "application/json") throw new ApiError("forbidden", FOREIGN);
  if (c.req.header("sec-fetch-site") === "same-origin") return;
  const origin = c.req.header("origin");
  if (origin === undefined) throw new ApiError("forbidden", FOREIGN);
  const { cors, publicOrigin } = c.var.config;
  if (origin === publicOrigin || (cors.origins !== "*" && cors.origins.includes(origin))) return;
  throw new ApiError("forbidden", FOREIGN);
}

/** Before the body is read: a request carrying the cookie that is not JSON gets 403
 * `forbidden`, not 415, so a cross-site form learns nothing and changes nothing. */
export const cookieRequestsAreJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (readRefreshCookie(c) !== undefined && mediaType(c) !== "application/json") {
    throw new ApiError("forbidden", FOREIGN);
  }
  await next();
};
