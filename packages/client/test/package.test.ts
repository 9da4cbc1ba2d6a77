import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startDev, stopAll } from "../../../test/support/processes";
import { installedManifest, makeApp, type ThrowawayApp } from "./throwaway-app";

// @edge-auth/client as an app in another repository uses it: from the tarball `npm pack`
// makes, installed outside this repository, typechecked, and run from Node against a real
// `npm run dev` (register, login, one refresh for concurrent 401s, logout). The same app's
// Vite build runs in Chromium in test/e2e/client-package.test.ts.

const packageDir = fileURLToPath(new URL("../", import.meta.url));
const TTL_MS = 5_000;
const started: Running[] = [];
const dirs: string[] = [];
let app: (ThrowawayApp & { files: string[] }) | undefined;
let api = "";

beforeAll(async () => {
  const persist = mkdtempSync(join(tmpdir(), "edge-auth-client-package-"));
  dirs.push(persist);
  const [made, dev] = await Promise.all([
    Promise.resolve().then(makeApp),
    startDev(started, "npm run dev (short tokens)", persist, ["--var", `TOKEN_TTL:${TTL_MS / 1000}s`]),
  ]);
  app = made;
  api = dev.url;
}, 240_000);

afterAll(async () => {
  await stopAll(started);
  app?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("@edge-auth/client from its tarball, in an app outside the repository", () => {
  it("ships the built module, its declarations (AppType included) and the README, nothing else", () => {
    expect(app?.files).toEqual(["README.md", "dist/app-type.d.ts", "dist/index.d.ts", "dist/index.js", "package.json"]);
    expect(installedManifest(app as ThrowawayApp)).toMatchObject({ name: "@edge-auth/client", version: "0.1.0" });
  });

  it("typechecks against the published types (a wrong route or body does not compile) and runs in Node", () => {
    // makeApp already ran tsc (with @ts-expect-error on a route that does not exist) and Vite.
    const out = execFileSync(process.execPath, ["out/node.js", api, String(TTL_MS)], {
      cwd: app?.dir,
      encoding: "utf8",
      timeout: 60_000,
    });
    const result = JSON.parse(out);
    expect(result.registered).toMatch(/^package-.+@example\.com$/);
    expect(result.loggedIn).toBe(true);
    expect(result.me).toBe(result.registered);
    // Four concurrent calls met a 401 with the expired token: one refresh, each retried once.
    expect(result.statuses).toEqual([200, 200, 200, 200]);
    expect(result.refreshes).toBe(1);
    expect(result.meCalls).toBe(8);
    expect(result.signedOutAfterLogout).toBe(true);
    // No token left to send: 403 token_required.
    expect(result.afterLogout).toBe(403);
    expect(result.wrongPassword).toEqual({ status: 400, code: "invalid_credentials" });
  }, 60_000);

  it("passes npm publish --dry-run", () => {
    const output = execFileSync("npm", ["publish", "--dry-run"], {
      cwd: packageDir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
    expect(output).toContain("+ @edge-auth/client@0.1.0");
  }, 60_000);
});
