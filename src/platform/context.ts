import type { Context } from "hono";
import type { Config } from "./config";
import type { Db } from "./db";
import type { AppEnv } from "./env";
import { type LimiterName, limitPerIp, parseIp } from "./http/client-ip";
import { type LogFields, type LogLevel, log } from "./log";
import { inertText } from "./text";

/** Where a request came from, made inert before anything stores or logs it: sessions
 * keep `ip` and `userAgent`, audit events all three. */
export type Source = { ip: string | null; userAgent: string | null; requestId: string | null };

/**
 * What the identity core and the features' services take instead of a Hono `Context`:
 * the request's database, the configuration, where the request came from, when it
 * happens, a logger tagged with the request and its per-IP limits. Built once per request by `ctxOf`;
 * tests build their own (test/identity.test.ts).
 */
export type Ctx = {
  db: Db;
  config: Config;
  source: Source;
  now: Date;
  log: (level: LogLevel, event: string, fields?: LogFields) => void;
  /** Counts the request against a per-IP limit (`limitPerIp`): 429 over it. */
  limit: (name: LimiterName) => Promise<void>;
};

const MAX_USER_AGENT = 256;
/** Longest request id kept: hono/request-id takes one from `X-Request-Id` up to this long. */
const MAX_REQUEST_ID = 255;

/** The client's address comes only from Cloudflare's `CF-Connecting-IP`: headers such as
 * X-Forwarded-For are set by whoever sends the request. The user agent and a request id a
 * client sent are made inert (`inertText`; hono/request-id already refuses all but
 * `[A-Za-z0-9_=-]`, this keeps it so whatever sets the id). */
export function requestSource(c: Context): Source {
  const userAgent = inertText(c.req.header("user-agent") ?? "", MAX_USER_AGENT) || null;
  const ip = c.req.header("cf-connecting-ip")?.trim() ?? "";
  const requestId: string | undefined = c.get("requestId");
  return {
    ip: parseIp(ip) ? ip : null,
    userAgent,
    requestId: requestId === undefined ? null : inertText(requestId, MAX_REQUEST_ID),
  };
}

/** The request's `Ctx`, `now` being this moment. */
export function ctxOf<E extends AppEnv>(c: Context<E>): Ctx {
  return {
    db: c.var.db,
    config: c.var.config,
    source: requestSource(c),
    now: new Date(),
    log: (level, event, fields) => log(c, level, event, fields),
    limit: (name) => limitPerIp(c, name),
  };
}
