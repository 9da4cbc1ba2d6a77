import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeApp, type ThrowawayApp } from "../../packages/client/test/throwaway-app";
import { freePort, type Running, spawnNpm, stopAll } from "../support/processes";
import { launchChromium } from "./browser";
import { makeCertificate, waitForHttps } from "./sites";

// @edge-auth/client in Chromium, the way an app in another repository ships it: the
// tarball installed outside this repository, the page built by Vite, served on its own
// origin (https://app.example.test) and calling the API on another
// (https://api.example.test, same site) with the cookie transport: register, login, one
// refresh for concurrent 401s, logout. The Node half is packages/client/test/package.test.ts.

const TTL_MS = 5_000;
const started: Running[] = [];
const dirs: string[] = [];
let page: Server | undefined;
let app: ThrowawayApp | undefined;
let appOrigin = "";
let apiOrigin = "";

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-client-chromium-"));
  dirs.push(dir);
  const tls = makeCertificate(dir);
  const [apiPort, inspector, appPort] = [await freePort(), await freePort(), await freePort()];
  appOrigin = `https://app.example.test:${appPort}`;
  apiOrigin = `https://api.example.test:${apiPort}`;
  const api = spawnNpm("npm run dev (https, short tokens)", [
    "run",
    "dev",
    "--",
    ...["--port", String(apiPort), "--ip", "127.0.0.1", "--inspector-port", String(inspector)],
    ...["--local-protocol", "https", "--https-key-path", tls.key, "--https-cert-path", tls.cert],
    ...["--persist-to", join(dir, "d1")],
    ...["--var", `CORS_ORIGINS:${appOrigin}`, "--var", "CORS_CREDENTIALS:true", "--var", `TOKEN_TTL:${TTL_MS / 1000}s`],
  ]);
  started.push(api);
  app = makeApp();
  const dist = join(app.dir, "dist");
  const key = readFileSync(tls.key);
  const cert = readFileSync(tls.cert);
  page = createServer({ key, cert }, (req, res) => {
    const path = new URL(req.url ?? "/", "https://x").pathname;
    const file = normalize(join(dist, path === "/" ? "index.html" : path));
    try {
      if (!file.startsWith(dist)) throw new Error("outside");
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => page?.listen(appPort, "127.0.0.1", resolve));
  await waitForHttps(api, `https://127.0.0.1:${apiPort}/health`, cert);
}, 240_000);

afterAll(async () => {
  await stopAll(started);
  await new Promise((resolve) => (page ? page.close(resolve) : resolve(undefined)));
  app?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("@edge-auth/client from its tarball, in a Vite app in Chromium (cookie transport, another origin)", () => {
  it("registers, logs in, refreshes once for concurrent 401s from the HttpOnly cookie, logs out", async () => {
    const browser = await launchChromium(["--host-resolver-rules=MAP *.test 127.0.0.1", "--ignore-certificate-errors"]);
    try {
      const tab = await browser.context.newPage();
      tab.setDefaultTimeout(30_000);
      await tab.goto(`${appOrigin}/`);
      await tab.waitForSelector("body[data-ready=true]", { state: "attached" });
      const result = await tab.evaluate(
        ([api, ttl]) =>
          (globalThis as unknown as { runFlow: (a: string, t: string, n: number) => Promise<unknown> }).runFlow(
            api,
            "cookie",
            ttl,
          ),
        [apiOrigin, TTL_MS] as const,
      );
      expect(result).toMatchObject({
        loggedIn: true,
        statuses: [200, 200, 200, 200],
        refreshes: 1,
        meCalls: 8,
        signedOutAfterLogout: true,
        afterLogout: 403,
        wrongPassword: { status: 400, code: "invalid_credentials" },
      });
      const { registered, me } = result as { registered: string; me: string };
      expect(me).toBe(registered);
      // The refresh token never reached the page: it lived in the HttpOnly cookie.
      const cookies = await browser.context.cookies(apiOrigin);
      expect(cookies.every((cookie) => cookie.name !== "__Secure-refresh_token" || cookie.httpOnly)).toBe(true);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
