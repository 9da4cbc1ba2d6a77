import type { MiddlewareHandler } from "hono";
import { rateLimitKey } from "../client-ip";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/** The rate-limit bindings declared in wrangler.toml (`[[ratelimits]]`). */
type LimiterName = "LOGIN_RATE_LIMIT" | "REGISTER_RATE_LIMIT" | "REFRESH_RATE_LIMIT" | "MAIL_RATE_LIMIT";

/** Matches the `period` of every `[[ratelimits]]` entry in wrangler.toml. */
const PERIOD_SECONDS = 60;

/** Per-IP limit through a Workers Rate Limiting binding. The address comes only from
 * Cloudflare's `CF-Connecting-IP`; X-Forwarded-For and friends are set by the client.
 * Every limited route counts by `rateLimitKey`: IPv4 per address, IPv6 per /64.
 * Mounted after body validation, so only well-formed attempts (the ones that cost a
 * bcrypt run or a D1 write) count. Over the limit: 429 `rate_limited` + Retry-After. */
export function rateLimit(name: LimiterName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limiter = c.env[name];
    if (!limiter) throw new ApiError("server_misconfigured", undefined, `rate-limit binding ${name} is missing`);
    const { success } = await limiter.limit({ key: rateLimitKey(c.req.header("cf-connecting-ip")) });
    if (!success) {
      throw new ApiError("rate_limited", undefined, undefined, { "Retry-After": String(PERIOD_SECONDS) });
    }
    await next();
  };
}
