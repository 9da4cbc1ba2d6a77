import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

// The client's address, from Cloudflare's CF-Connecting-IP only: X-Forwarded-For and
// friends are whatever the client wants them to be.

/** Dotted-quad IPv4, each part 0-255 without leading zeros (so nothing reads as octal). */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** What an IPv6 address (RFC 4291 text form, with an optional IPv4 tail) is made of;
 * no zone ids (`%eth0`), brackets or ports. */
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;

/** A parsed address: IPv4 as its dotted quad, IPv6 as eight 16-bit groups. */
export type IpAddress = { version: 4; address: string } | { version: 6; groups: number[] };

/** Parses an IPv4 or IPv6 address in any valid text form (`::` compression, zero
 * padding, either letter case, an IPv4 tail). An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, RFC 4291 2.5.5.2) is the IPv4 address it maps. Anything else
 * is `undefined`. */
export function parseIp(value: string): IpAddress | undefined {
  if (IPV4.test(value)) return { version: 4, address: value };
  if (!IPV6_CHARS.test(value) || !value.includes(":")) return undefined;
  let host: string;
  try {
    // The WHATWG URL parser checks IPv6 strictly and writes it back in one form
    // (RFC 5952: lowercase, no leading zeros, the longest zero run as `::`).
    host = new URL(`http://[${value}]/`).hostname;
  } catch {
    return undefined;
  }
  const [head = "", tail] = host.slice(1, -1).split("::");
  const part = (text: string | undefined) => (text ? text.split(":").map((group) => Number.parseInt(group, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const groups = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  if (groups.slice(0, 6).join() === "0,0,0,0,0,65535") {
    const [high = 0, low = 0] = groups.slice(6);
    return { version: 4, address: [high >> 8, high & 255, low >> 8, low & 255].join(".") };
  }
  return { version: 6, groups };
}

/**
 * The bucket a request counts in for per-IP rate limits: an IPv4 address on its own,
 * an IPv6 address by its /64 prefix (a single client controls at least a /64, so its
 * interface ids cost nothing to rotate). Every text form of one address or prefix gives
 * the same key. A request without CF-Connecting-IP shares the bucket `ip:none`, one with
 * a value that is not an address shares `ip:invalid`: neither can buy a fresh bucket per
 * request. On Cloudflare the header is always set, by Cloudflare; only local runs
 * (wrangler dev keeps a client-sent value) and internal callers see the other two.
 */
export function rateLimitKey(header: string | undefined): string {
  const value = header?.trim() ?? "";
  if (value === "") return "ip:none";
  const ip = parseIp(value);
  if (!ip) return "ip:invalid";
  if (ip.version === 4) return `ip4:${ip.address}`;
  return `ip6:${ip.groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}

/** The rate-limit bindings declared in wrangler.toml (`[[ratelimits]]`). */
export type LimiterName =
  | "LOGIN_RATE_LIMIT"
  | "REGISTER_RATE_LIMIT"
  | "REFRESH_RATE_LIMIT"
  | "MAIL_RATE_LIMIT"
  | "OAUTH_REGISTER_RATE_LIMIT"
  | "OAUTH_AUTHORIZE_RATE_LIMIT"
  | "OAUTH_TOKEN_RATE_LIMIT";

/** Matches the `period` of every `[[ratelimits]]` entry in wrangler.toml. */
const PERIOD_SECONDS = 60;

/** Counts one request of this client (`rateLimitKey`) against the binding `name`; over
 * the limit, 429 `rate_limited` + Retry-After. The `rateLimit` middleware and the
 * signed-in secret re-checks (src/identity/lockout.ts) both count through here. */
export async function limitPerIp<E extends AppEnv>(c: Context<E>, name: LimiterName): Promise<void> {
  const limiter = c.env[name];
  if (!limiter) throw new ApiError("server_misconfigured", undefined, `rate-limit binding ${name} is missing`);
  const { success } = await limiter.limit({ key: rateLimitKey(c.req.header("cf-connecting-ip")) });
  if (!success) throw new ApiError("rate_limited", undefined, undefined, { "Retry-After": String(PERIOD_SECONDS) });
}
