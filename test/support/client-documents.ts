/// <reference path="../provided.d.ts" />
// A web server in Node serving client ID metadata documents, good and bad, on loopback,
// for the workerd tests of the provider's client lookup (test/oauth-client-documents.test.ts).
// Each document names its own URL as client_id (so the port needs no guessing) and counts
// how often it was served (`served` in client_name), so a test can tell a cached copy
// from a fresh fetch.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

const hits = new Map<string, number>();

function document(url: string, extra: Record<string, unknown> = {}) {
  const served = (hits.get(url) ?? 0) + 1;
  hits.set(url, served);
  return {
    client_id: url,
    client_name: `Doc client (served ${served})`,
    redirect_uris: ["http://127.0.0.1:7777/callback"],
    ...extra,
  };
}

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(200, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export default async function setup(project: TestProject) {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const url = `${base}${req.url}`;
    const kind = path.split("/")[2] ?? "";
    switch (kind) {
      case "good":
        return json(res, document(url, { scope: "openid mcp", client_uri: "https://app.example.com" }), {
          "cache-control": "public, max-age=600",
        });
      case "no-store":
        return json(res, document(url), { "cache-control": "no-store" });
      case "short":
        // max-age below the floor: cached for 5 minutes anyway.
        return json(res, document(url), { "cache-control": "max-age=1" });
      case "big":
        return json(res, document(url, { padding: "x".repeat(6 * 1024) }));
      case "big-chunked": {
        // No Content-Length: the cut happens while reading.
        res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
        res.write(`{"client_id":"${url}","redirect_uris":["http://127.0.0.1:7777/cb"],"padding":"`);
        for (let i = 0; i < 8; i++) res.write("y".repeat(1024));
        return res.end('"}');
      }
      case "redirect":
        res.writeHead(302, { location: `${base}/docs/good/after-redirect` });
        return res.end();
      case "wrong-id":
        return json(res, { ...document(url), client_id: `${base}/docs/somebody-else` });
      case "slow":
        // Answers after the 5 s timeout.
        setTimeout(() => json(res, document(url)), 7_000);
        return;
      case "not-json":
        res.writeHead(200, { "content-type": "text/html" });
        return res.end("<html>hello</html>");
      case "secret":
        return json(res, document(url, { token_endpoint_auth_method: "client_secret_basic" }));
      case "private-key-jwt":
        return json(res, document(url, { token_endpoint_auth_method: "private_key_jwt" }));
      case "no-redirects":
        return json(res, { ...document(url), redirect_uris: undefined });
      case "bad-redirect":
        return json(res, document(url, { redirect_uris: ["http://evil.example.com/cb"] }));
      case "missing":
        res.writeHead(404).end();
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project.provide("documentsUrl", `${base}/docs`);
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}
