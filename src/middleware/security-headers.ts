import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

const base = secureHeaders({
  strictTransportSecurity: "max-age=63072000; includeSubDomains",
  referrerPolicy: "no-referrer",
  xFrameOptions: "DENY",
  // CORS decides who may read our answers; CORP would block allowed cross-origin reads.
  crossOriginResourcePolicy: false,
  // Set below, per content type.
  contentSecurityPolicy: undefined,
});

/** A JSON or text answer has nothing to load or run. */
const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Hono's secure headers on every response (errors and preflights included), plus a
 * strict Content-Security-Policy on everything that is not an HTML page. HTML pages
 * (the docs) set their own policy. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await base(c, async () => {
    await next();
    const type = c.res.headers.get("content-type") ?? "";
    if (!type.startsWith("text/html") && !c.res.headers.has("content-security-policy")) {
      c.res.headers.set("Content-Security-Policy", STRICT_CSP);
    }
  });
};
