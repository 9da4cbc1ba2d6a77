import type { Hono, NotFoundHandler } from "hono";
import { ApiError } from "../errors";

/** Turns "no route" into 405 + `Allow` when the path exists under other methods.
 * Built from the app's own route table, so it never drifts from the routes. TRACE is
 * never served. */
export function methodNotAllowed(app: { routes: Hono["routes"] }, fallback: NotFoundHandler): NotFoundHandler {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return (c) => {
    table ??= app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => ({ pattern: toRegExp(route.path), method: route.method }));
    const methods = new Set(table.filter(({ pattern }) => pattern.test(c.req.path)).map(({ method }) => method));
    if (methods.size === 0 && c.req.method !== "TRACE") return fallback(c);
    if (methods.has("GET")) methods.add("HEAD");
    methods.add("OPTIONS");
    throw new ApiError("method_not_allowed", undefined, undefined, { Allow: [...methods].join(", ") });
  };
}

/** `/sessions/:id` -> /^\/sessions\/[^/]+$/ */
function toRegExp(path: string): RegExp {
  const source = path
    .split("/")
    .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}$`);
}
