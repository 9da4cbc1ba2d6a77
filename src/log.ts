import type { Context } from "hono";

type Level = "info" | "warn" | "error";

/** One JSON object per line, tagged with the request id. Callers pass names and
 * codes, never passwords, tokens or hashes. */
export function log(c: Context, level: Level, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({
    level,
    event,
    request_id: c.get("requestId"),
    method: c.req.method,
    path: c.req.path,
    ...fields,
  });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
