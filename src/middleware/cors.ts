import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { readCors } from "../config";
import type { AppEnv } from "../env";

const ALLOW_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
const ALLOW_HEADERS = ["Content-Type", "Authorization", "X-Access-Token"];

const byEnv = new WeakMap<object, MiddlewareHandler>();

/** Hono's cors, set from `CORS_ORIGINS`. With an allowlist only exact matches are
 * echoed back; anything else gets no CORS headers at all and the browser blocks it.
 * It reads only its own setting, so it can run before the rest of the configuration
 * is enforced and keep even a 500 readable by allowed origins. */
export const corsFromEnv: MiddlewareHandler<AppEnv> = (c, next) => {
  let middleware = byEnv.get(c.env);
  if (!middleware) {
    const { origins: allowed, credentials } = readCors(c.env);
    middleware =
      allowed === "*"
        ? cors({
            origin: "*",
            allowMethods: ALLOW_METHODS,
            allowHeaders: ALLOW_HEADERS,
            maxAge: 600,
            exposeHeaders: ["X-Request-Id"],
          })
        : cors({
            origin: (origin) => (allowed.includes(origin) ? origin : null),
            allowMethods: (origin) => (allowed.includes(origin) ? ALLOW_METHODS : []),
            allowHeaders: ALLOW_HEADERS,
            maxAge: 600,
            exposeHeaders: ["X-Request-Id"],
            credentials,
          });
    byEnv.set(c.env, middleware);
  }
  return middleware(c, next);
};
