import type { Config } from "./config";
import { ApiError } from "./errors";

// Where a sign-in that ends in a browser redirect (social sign-in, an email link) may send
// the browser back: only to the exact origins of `SOCIAL_REDIRECT_ORIGINS` (or its default,
// src/platform/config.ts), so no flow of ours is an open redirect (OWASP ASVS 5.1.5; RFC
// 9700 §4.11). What goes back is a one-time `code` or an `error`, never a token.

/** Longest `redirect_to` accepted, in UTF-16 code units: browsers and proxies cut URLs
 * beyond a few thousand characters. */
export const MAX_REDIRECT_LENGTH = 2048;

/**
 * `redirect_to` as an app sent it, checked: an absolute `http:`/`https:` URL with no user
 * name or password, whose origin is exactly one of `config.redirectOrigins` (scheme, host
 * and port; `https://app.example.com.evil.test` and `https://app.example.com@evil.test`
 * are other origins), or the API's own origin (`PUBLIC_URL`'s: the authorization server's
 * login page sends social sign-in back to itself). Returns it parsed. Anything else: 400
 * `invalid_redirect`.
 */
export function allowedRedirect(config: Config, raw: unknown): URL {
  if (typeof raw !== "string" || raw.length > MAX_REDIRECT_LENGTH || !URL.canParse(raw)) {
    throw new ApiError("invalid_redirect");
  }
  const url = new URL(raw);
  const web = url.protocol === "https:" || url.protocol === "http:";
  const trusted = config.redirectOrigins.includes(url.origin) || url.origin === config.publicOrigin;
  if (!web || url.username !== "" || url.password !== "" || !trusted) {
    throw new ApiError("invalid_redirect");
  }
  return url;
}

/** The query parameters a flow's outcome is told by: one of them, never a mix. */
const OUTCOME_PARAMS = ["code", "error", "linked"] as const;

/** `target` (an allowed `redirect_to`) with `params` set in its query, after removing every
 * outcome parameter (`code`, `error`, `linked`) it already had: an app is never handed a
 * `code` it put there itself, nor an `error` beside a `code`. */
export function redirectWith(target: URL | string, params: Record<string, string>): string {
  const url = new URL(target);
  for (const name of OUTCOME_PARAMS) url.searchParams.delete(name);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}
