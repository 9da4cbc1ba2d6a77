import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { type Cors, readCors } from "../config";
import type { AppEnv } from "../env";

const ALLOW_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"];
const ALLOW_HEADERS = ["Content-Type", "Authorization", "X-Access-Token"];
/** Sent by clients that want to read their own writes (see src/platform/db.ts); allowed
 * in preflights that ask for it, so the usual answer stays the three headers above. */
const BOOKMARK = "X-D1-Bookmark";
const EXPOSE_HEADERS = ["X-Request-Id", BOOKMARK];

type Pair = { plain: MiddlewareHandler; bookmark: MiddlewareHandler };

const byEnv = new WeakMap<object, Pair>();

/** Paths any origin may call without credentials, whatever CORS_ORIGINS says (the OAuth
 * provider's discovery documents and token endpoints, which browser apps of other origins
 * call: RFC 8414 §3, RFC 6749 §3.2; RFC 7591 registration). Exact paths; set once by `openCorsFor`. */
const openPaths = new Set<string>(["/oauth/register"]);

/** Hono's cors for `openPaths`: `Access-Control-Allow-Origin: *`, never credentials. */
const open = cors({
  origin: "*",
  allowMethods: ["GET", "POST", "OPTIONS"],
  // MCP clients send MCP-Protocol-Version with discovery and token requests (the MCP
  // authorization spec); a browser's preflight must allow it.
  allowHeaders: ["Content-Type", "Authorization", "MCP-Protocol-Version"],
  maxAge: 600,
  exposeHeaders: ["X-Request-Id", "WWW-Authenticate"],
});

/** Opens `paths` to every origin, without credentials (see `openPaths`). */
export function openCorsFor(paths: readonly string[]): void {
  for (const path of paths) openPaths.add(path);
}

/** Hono's cors, set from `CORS_ORIGINS` (but for the paths of `openCorsFor`). With an allowlist only exact matches are
 * echoed back; anything else gets no CORS headers at all and the browser blocks it.
 * It reads the CORS settings' own result of the isolate's one parse of the settings
 * (`readCors`), so it can run before the rest of the configuration is enforced and keep
 * even a 500 readable by allowed origins. */
export const corsFromEnv: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (openPaths.has(c.req.path)) {
    if (c.req.method === "OPTIONS") return open(c, next);
    await next();
    await open(c, async () => {});
    // An open path never lets a browser send cookies or read an answer with them.
    c.res.headers.delete("access-control-allow-credentials");
    return;
  }
  let pair = byEnv.get(c.env);
  if (!pair) {
    const settings = readCors(c.env);
    pair = { plain: build(settings, ALLOW_HEADERS), bookmark: build(settings, [...ALLOW_HEADERS, BOOKMARK]) };
    byEnv.set(c.env, pair);
  }
  if (c.req.method === "OPTIONS") {
    // Preflights are answered here and never reach a route.
    const asked = c.req.header("access-control-request-headers")?.toLowerCase() ?? "";
    const res = await (asked.includes(BOOKMARK.toLowerCase()) ? pair.bookmark : pair.plain)(c, next);
    // (The returned preflight is merged with c.res afterwards: clean both.)
    for (const answer of [res, c.res]) if (answer) dropStrayCredentials(answer);
    return res;
  }
  // Every other request is answered first and given its CORS headers afterwards. Run before
  // the route, hono/cors would make Hono build the response twice and copy every header
  // into the second one: the largest single cost in a CPU profile of /welcome.
  await next();
  await pair.plain(c, async () => {});
  dropStrayCredentials(c.res);
};

/** hono/cors sends Allow-Credentials to every origin; an origin it did not allow gets
 * no CORS headers at all. */
function dropStrayCredentials(res: Response) {
  if (!res.headers.has("access-control-allow-origin")) res.headers.delete("access-control-allow-credentials");
}

function build({ origins, credentials }: Cors, allowHeaders: string[]): MiddlewareHandler {
  if (origins === "*") {
    return cors({ origin: "*", allowMethods: ALLOW_METHODS, allowHeaders, maxAge: 600, exposeHeaders: EXPOSE_HEADERS });
  }
  return cors({
    origin: (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: (origin) => (origins.includes(origin) ? ALLOW_METHODS : []),
    allowHeaders,
    maxAge: 600,
    exposeHeaders: EXPOSE_HEADERS,
    credentials,
  });
}
