import type { Context } from "hono";
import { inertText } from "./text";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** Longest string value a log line keeps (an error's first line is cut to 300 before). */
const MAX_LOG_VALUE = 1000;

/** One JSON object per line, tagged with the request id. Callers pass names and
 * codes, never passwords, tokens or hashes. Every string value (the path and whatever a
 * client's text reached, such as a WebAuthn origin inside an error message) goes through
 * `inertText`: JSON escapes C0 controls, not U+0085, U+2028 or bidi overrides. */
export function log(c: Context, level: LogLevel, event: string, fields: LogFields = {}): void {
  const entries = Object.entries({
    level,
    event,
    request_id: c.get("requestId"),
    method: c.req.method,
    path: c.req.path,
    ...fields,
  }).map(([key, value]) => [key, typeof value === "string" ? inertText(value, MAX_LOG_VALUE) : value]);
  const line = JSON.stringify(Object.fromEntries(entries));
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
