import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type Running, startDev, stopAll } from "../support/processes";

/** The server the black-box tests call, and what is known about its settings. A case that
 * needs a setting nobody gave is skipped, and says so. */
export type Target = {
  /** `BLACKBOX_BASE_URL`, e.g. `https://auth.example.workers.dev`. (Not `BASE_URL`: Vite
   * sets that to "/" in every vitest run.) */
  base: string;
  /** `BLACKBOX_TOKEN_KEY`: the server's `TOKEN_KEY`, for the validly signed but malformed tokens. */
  tokenKey?: string;
  /** `BLACKBOX_ALLOWLIST_ORIGIN`: the one origin in the server's `CORS_ORIGINS`; without it,
   * the server is expected to answer CORS with `*`. */
  allowlistOrigin?: string;
  /** `BLACKBOX_REUSE_INTERVAL`: the server's `REFRESH_REUSE_INTERVAL` in seconds (at most 60),
   * for the case that waits it out. */
  reuseInterval?: number;
  /** A second server that answers CORS with `*`, started beside an allowlisted `base` when
   * no `BLACKBOX_BASE_URL` is given, so both kinds of CORS cases run. */
  starBase?: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    blackbox: Target;
  }
}

/** What the servers started here are given (no `BLACKBOX_BASE_URL`): every setting known, so no case is skipped. */
const LOCAL = {
  tokenKey: "blackbox-signing-key-known-to-the-tests-0123456789",
  allowlistOrigin: "https://app.example.com",
  /** Short, so the case that waits it out takes seconds. */
  reuseInterval: 2,
};

const SETTINGS = ["BLACKBOX_TOKEN_KEY", "BLACKBOX_ALLOWLIST_ORIGIN", "BLACKBOX_REUSE_INTERVAL"];

/** The target described by the `BLACKBOX_*` variables. */
function fromEnv(env: NodeJS.ProcessEnv, base: string): Target {
  const url = new URL(base);
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`BLACKBOX_BASE_URL ${base} is not http(s)`);
  const target: Target = { base };
  if (env.BLACKBOX_TOKEN_KEY) target.tokenKey = env.BLACKBOX_TOKEN_KEY;
  const origin = env.BLACKBOX_ALLOWLIST_ORIGIN;
  if (origin) {
    if (URL.canParse(origin) && new URL(origin).origin === origin) target.allowlistOrigin = origin;
    else throw new Error(`BLACKBOX_ALLOWLIST_ORIGIN ${origin} is not an origin (scheme://host[:port])`);
  }
  const interval = env.BLACKBOX_REUSE_INTERVAL;
  if (interval) {
    const seconds = Number(interval);
    if (!(seconds > 0 && seconds <= 60)) throw new Error("BLACKBOX_REUSE_INTERVAL takes a number of seconds up to 60");
    target.reuseInterval = seconds;
  }
  return target;
}

export default async function setup(project: TestProject) {
  const base = process.env.BLACKBOX_BASE_URL;
  if (base) {
    const target = fromEnv(process.env, base);
    try {
      await fetch(`${base.replace(/\/$/, "")}/health`, { signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new Error(`no usable server at ${base}: ${err instanceof Error ? err.message : err}`);
    }
    project.provide("blackbox", target);
    return;
  }
  const stray = SETTINGS.filter((name) => process.env[name]);
  if (stray.length > 0) throw new Error(`${stray.join(", ")} set without BLACKBOX_BASE_URL, the server they describe`);

  // No BLACKBOX_BASE_URL: the README's `npm run dev`, twice, each with its own fresh local D1.
  const running: Running[] = [];
  const dirs: string[] = [];
  const start = async (name: string, flags: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "edge-auth-blackbox-"));
    dirs.push(dir);
    return (await startDev(running, name, dir, flags)).url;
  };
  const stop = async () => {
    await stopAll(running);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [known, star] = await Promise.all([
      start("npm run dev (black-box, known settings)", [
        "--var",
        `TOKEN_KEY:${LOCAL.tokenKey}`,
        "--var",
        `CORS_ORIGINS:${LOCAL.allowlistOrigin}`,
        "--var",
        `REFRESH_REUSE_INTERVAL:${LOCAL.reuseInterval}s`,
      ]),
      start("npm run dev (black-box, CORS *)", []),
    ]);
    project.provide("blackbox", { base: known, ...LOCAL, starBase: star });
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}
