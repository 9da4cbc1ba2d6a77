import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

/** The API and the two origins the demo page is served from. */
export type Demo = {
  /** The API, started by `npm run demo` with CORS_ORIGINS set to `allowed`. */
  api: string;
  /** The demo page on the origin the API allows. */
  allowed: string;
  /** The same page on another port: an origin the API does not allow. */
  blocked: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    demo: Demo;
  }
}

type Running = { name: string; child: ChildProcess; log: string[] };
const running: Running[] = [];
const dirs: string[] = [];

/** Runs `npm run demo -- <args>` in its own process group, keeping its output for errors. */
function npmRunDemo(name: string, args: string[]): Running {
  const child = spawn("npm", ["run", "demo", "--", ...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const server: Running = { name, child, log: [] };
  running.push(server);
  child.stdout?.on("data", (chunk) => server.log.push(String(chunk)));
  child.stderr?.on("data", (chunk) => server.log.push(String(chunk)));
  return server;
}

/** Polls `url` until it answers 200, the process dies, or 90 s pass. */
async function waitFor(server: Running, url: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && server.child.exitCode === null) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${server.name} did not answer ${url}:\n${server.log.join("")}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** SIGTERM to each process group (demo.mjs forwards it to the API's group), bounded wait, then SIGKILL. */
async function stopAll() {
  await Promise.all(
    running.map(async ({ child }) => {
      if (!child.pid || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      signal(child.pid, "SIGTERM");
      const timer = new Promise((resolve) => setTimeout(resolve, 10_000, "timeout"));
      if ((await Promise.race([exited, timer])) === "timeout") signal(child.pid, "SIGKILL");
    }),
  );
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

function signal(pid: number, name: NodeJS.Signals) {
  try {
    process.kill(-pid, name);
  } catch {
    // already gone
  }
}

export default async function setup(project: TestProject) {
  const [apiPort, inspector, allowedPort, blockedPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-e2e-"));
  dirs.push(dir);
  const host = "127.0.0.1";
  const demo: Demo = {
    api: `http://${host}:${apiPort}`,
    allowed: `http://${host}:${allowedPort}`,
    blocked: `http://${host}:${blockedPort}`,
  };
  try {
    const common = ["--host", host, "--api-port", String(apiPort)];
    const withApi = npmRunDemo("npm run demo", [
      ...common,
      "--port",
      String(allowedPort),
      "--",
      "--persist-to",
      dir,
      "--inspector-port",
      String(inspector),
    ]);
    const pageOnly = npmRunDemo("npm run demo --no-api", [...common, "--port", String(blockedPort), "--no-api"]);
    await Promise.all([
      waitFor(withApi, `${demo.api}/health`),
      waitFor(withApi, `${demo.allowed}/`),
      waitFor(pageOnly, `${demo.blocked}/`),
    ]);
  } catch (err) {
    await stopAll();
    throw err;
  }
  project.provide("demo", demo);
  return stopAll;
}
