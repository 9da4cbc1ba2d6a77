import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

/** The servers every black-box test can reach, by what makes them different. */
export type Servers = {
  defaults: string;
  /** The local D1 of `defaults`, for scripts such as `npm run admin:grant -- --persist-to`. */
  defaultsDir: string;
  allowlist: string;
  misconfigured: string;
  /** Signing with ES256 and a key made by `npm run keys:generate`. */
  es256: string;
  /** For scripts/hostile.mjs: a known `HOSTILE_TOKEN_KEY` and `CORS_ORIGINS` = `HOSTILE_ORIGIN`. */
  hostile: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    servers: Servers;
  }
}

export const ALLOWED_ORIGINS = ["http://localhost:5173", "https://app.example.com"];

/** The hostile run signs malformed tokens with the server's key, so this server gets a known one. */
export const HOSTILE_TOKEN_KEY = "hostile-run-signing-key-known-to-the-tests-0123456789";
export const HOSTILE_ORIGIN = "https://app.example.com";

type Running = { child: ChildProcess; dir: string; log: string[] };
type Started = { url: string; dir: string };
const running: Running[] = [];

/** Starts the README's `npm run dev` on free ports with its own fresh local D1. */
async function start(flags: string[]): Promise<Started> {
  const [port, inspector] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-http-"));
  const args = [
    "run",
    "dev",
    "--",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspector),
    "--persist-to",
    dir,
    ...flags,
  ];
  const child = spawn("npm", args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const server: Running = { child, dir, log: [] };
  running.push(server);
  child.stdout?.on("data", (chunk) => server.log.push(String(chunk)));
  child.stderr?.on("data", (chunk) => server.log.push(String(chunk)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      await fetch(`${url}/health`);
      return { url, dir };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`npm run dev ${flags.join(" ")} did not start:\n${server.log.join("")}`);
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

function stopAll() {
  for (const { child, dir } of running) {
    try {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject) {
  try {
    const keys = execFileSync("npm", ["run", "-s", "keys:generate", "--", "--alg", "ES256"], {
      encoding: "utf8",
    }).trim();
    const [defaults, allowlist, misconfigured, es256, hostile] = await Promise.all([
      start([]),
      start(["--var", `CORS_ORIGINS:${ALLOWED_ORIGINS.join(",")}`, "--var", "ALLOW_QUERY_TOKEN:true"]),
      start(["--var", "TOKEN_KEY:too-short"]),
      start(["--var", "JWT_ALG:ES256", "--var", `JWT_PRIVATE_KEYS:${keys}`]),
      start(["--var", `TOKEN_KEY:${HOSTILE_TOKEN_KEY}`, "--var", `CORS_ORIGINS:${HOSTILE_ORIGIN}`]),
    ]);
    project.provide("servers", {
      defaults: defaults.url,
      defaultsDir: defaults.dir,
      allowlist: allowlist.url,
      misconfigured: misconfigured.url,
      es256: es256.url,
      hostile: hostile.url,
    });
  } catch (err) {
    stopAll();
    throw err;
  }
  return stopAll;
}
