import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { type LimiterName, limitPerIp } from "./client-ip";

/** Per-IP limit through a Workers Rate Limiting binding. The address comes only from
 * Cloudflare's `CF-Connecting-IP`; X-Forwarded-For and friends are set by the client.
 * Every limited route counts by `rateLimitKey`: IPv4 per address, IPv6 per /64.
 * Mounted after body validation, so only well-formed attempts (the ones that cost a
 * bcrypt run or a D1 write) count. Over the limit: 429 `rate_limited` + Retry-After. */
export function rateLimit(name: LimiterName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await limitPerIp(c, name);
    await next();
  };
}
