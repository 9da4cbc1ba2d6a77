import type { Context } from "hono";

/** What every answer carries, for an API whose answers are JSON or text: no sniffing them
 * into something runnable, no framing, HTTPS only, no Referer leaking a URL onwards, and a
 * Content-Security-Policy under which nothing may load or run (an HTML page, the docs,
 * replaces it with its own). Headers that only matter to documents are left out: every
 * one costs CPU on every request. No Cross-Origin-Resource-Policy: CORS decides who may
 * read our answers, and CORP would block the reads it allows. */
const HEADERS: readonly (readonly [string, string])[] = [
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"],
  ["Strict-Transport-Security", "max-age=63072000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
  ["Referrer-Policy", "no-referrer"],
];

/** Sets the headers above. They go on before the route runs, so Hono carries them into
 * whatever response it ends with (errors and preflights included), and nothing has to be
 * copied or rewritten afterwards. */
export function setSecurityHeaders(c: Context): void {
  for (const [name, value] of HEADERS) c.header(name, value);
}

/** `Cache-Control: no-store` on the finished response unless its route chose its own
 * caching: answers to authenticated requests, tokens, account data and errors must never
 * sit in a browser or proxy cache. Only the public documents (`/openapi.json`, `/docs`
 * and its files, `/.well-known/jwks.json`) set their own. Set on the response itself,
 * after the route, so whatever it or `onError` built carries it. */
export function setDefaultCaching(c: Context): void {
  const { headers } = c.res;
  if (!headers.has("cache-control")) headers.set("Cache-Control", "no-store");
}

/** A fresh CSP nonce for one HTML page: 128 random bits, base64 (CSP3 `nonce-source`). */
export function newNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** The headers of an HTML page the API serves (a mailed link's page, social sign-in's
 * callback pages): never cached; a Content-Security-Policy that replaces the API's no-content
 * one and lets the page run only its own nonce'd script and style, talk to this origin only,
 * and post its forms only to `formAction` (`'none'`, or `'self'` and the origins a form's
 * redirect may lead to: browsers hold that redirect to the list too). */
export function linkPageHeaders(c: Context, nonce: string, formAction: readonly string[] = ["'none'"]): void {
  c.header("Cache-Control", "no-store");
  c.header(
    "Content-Security-Policy",
    [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src data:",
      "base-uri 'none'",
      ["form-action", ...formAction].join(" "),
      "frame-ancestors 'none'",
    ].join("; "),
  );
}
