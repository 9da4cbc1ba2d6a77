import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type Running, startDev, stopAll } from "../support/processes";

/** The servers every black-box test can reach, by what makes them different. */
export type Servers = {
  defaults: string;
  /** The local D1 of `defaults`, for scripts such as `npm run admin:grant -- --persist-to`. */
  defaultsDir: string;
  /** The REST API of the mail catcher `npm run dev` started beside `defaults`. */
  defaultsMail: string;
  /** CORS_ORIGINS (and so the redirect allowlist) set to ALLOWED_ORIGINS, EMAIL_LOGIN on. */
  allowlist: string;
  /** The REST API of the mail catcher beside `allowlist`. */
  allowlistMail: string;
  misconfigured: string;
  /** Signing with ES256 and a key made by `npm run keys:generate`. */
  es256: string;
  /** Access tokens that live 5 s, for the client's expiry and refresh tests. */
  shortTokens: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    servers: Servers;
  }
}

export const ALLOWED_ORIGINS = ["http://localhost:5173", "https://app.example.com"];

type Started = { url: string; dir: string; mailApi: string };
const running: Running[] = [];
const dirs: string[] = [];

/** Starts the README's `npm run dev` on free ports with its own fresh local D1. */
async function start(flags: string[]): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-http-"));
  dirs.push(dir);
  const { url, mailApi } = await startDev(running, `npm run dev ${flags.join(" ")}`, dir, flags);
  return { url, dir, mailApi };
}

async function stop() {
  await stopAll(running);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

export default async function setup(project: TestProject) {
  try {
    const keys = execFileSync("npm", ["run", "-s", "keys:generate", "--", "--alg", "ES256"], {
      encoding: "utf8",
      // Its advice on stderr is for people, not for the test output.
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
    const [defaults, allowlist, misconfigured, es256, shortTokens] = await Promise.all([
      start([]),
      start([
        "--var",
        `CORS_ORIGINS:${ALLOWED_ORIGINS.join(",")}`,
        "--var",
        "ALLOW_QUERY_TOKEN:true",
        "--var",
        "EMAIL_LOGIN:both",
      ]),
      start(["--skip-config-check", "--var", "TOKEN_KEY:too-short"]),
      start(["--var", "JWT_ALG:ES256", "--var", `JWT_PRIVATE_KEYS:${keys}`]),
      start(["--var", "TOKEN_TTL:5s"]),
    ]);
    project.provide("servers", {
      defaults: defaults.url,
      defaultsDir: defaults.dir,
      defaultsMail: defaults.mailApi,
      allowlist: allowlist.url,
      allowlistMail: allowlist.mailApi,
      misconfigured: misconfigured.url,
      es256: es256.url,
      shortTokens: shortTokens.url,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}
