// The demo page's static server, shared by `npm run demo` and the browser tests: serves
// demo/ and, at /client.js, the typed client (packages/client/src/index.ts) bundled for browsers.
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const demoDir = fileURLToPath(new URL("../demo/", import.meta.url));
const clientEntry = fileURLToPath(new URL("../packages/client/src/index.ts", import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};
// The page only talks to the API (any http/https origin, since it is configurable).
const CSP =
  "default-src 'self'; connect-src http: https:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** packages/client/src/index.ts as one browser ES module (hono/client included, the API's types erased). */
export async function bundleClient() {
  const result = await build({
    entryPoints: [clientEntry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].contents;
}

/**
 * Serves the demo on `host:port`, over HTTPS when `tls` ({ key, cert } PEM) is given.
 * Resolves with the listening server.
 * @param {{ host: string, port: number, tls?: { key: string | Buffer, cert: string | Buffer } }} options
 * @returns {Promise<import("node:http").Server>}
 */
export async function serveDemo({ host, port, tls }) {
  const client = await bundleClient();
  const handler = async (req, res) => {
    const path = new URL(req.url ?? "/", "http://demo").pathname;
    const file = normalize(join(demoDir, path === "/" ? "index.html" : decodeURIComponent(path)));
    const type = TYPES[extname(file)];
    if (
      (req.method !== "GET" && req.method !== "HEAD") ||
      !type ||
      (path !== "/client.js" && !file.startsWith(demoDir))
    ) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
      return;
    }
    try {
      const body = path === "/client.js" ? client : await readFile(file);
      res.writeHead(200, {
        "content-type": type,
        "cache-control": "no-store",
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
    }
  };
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(undefined));
  });
  return server;
}
