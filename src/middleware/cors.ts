import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Config } from "../config";
import type { AppEnv } from "../env";

const ALLOW_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
const ALLOW_HEADERS = ["Content-Type", "Authorization", "X-Access-Token"];

const byConfig = new WeakMap<Config, MiddlewareHandler>();

/** Hono's cors, set from `CORS_ORIGINS`. With an allowlist only exact matches are
 * echoed back; anything else gets no CORS headers at all and the browser blocks it. */
export const corsFromConfig: MiddlewareHandler<AppEnv> = (c, next) => {
  const config = c.var.config;
  let middleware = byConfig.get(config);
  if (!middleware) {
    const allowed = config.corsOrigins;
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
          });
    byConfig.set(config, middleware);
  }
  return middleware(c, next);
};
