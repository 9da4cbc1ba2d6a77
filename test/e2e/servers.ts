import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort, mailCatcherPorts, type Running, spawnNpm, stopAll, waitFor } from "../support/processes";

/** The API and the two origins the demo page is served from. */
export type Demo = {
  /** The API, started by `npm run demo` with CORS_ORIGINS set to `allowed`. */
  api: string;
  /** The demo page on the origin the API allows. */
  allowed: string;
  /** The same page on another port: an origin the API does not allow. */
  blocked: string;
  /** The REST API of the mail catcher the API's `npm run dev` started. */
  mailApi: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    demo: Demo;
  }
}

const running: Running[] = [];
const dirs: string[] = [];

/** Runs `npm run demo -- <args>`. */
function npmRunDemo(name: string, args: string[], env: Record<string, string> = {}): Running {
  const demo = spawnNpm(name, ["run", "demo", "--", ...args], env);
  running.push(demo);
  return demo;
}

/** demo.mjs forwards the signal to the API's process group. */
async function stop() {
  await stopAll(running);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
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
  const mail = await mailCatcherPorts();
  const demo: Demo = {
    mailApi: mail.mailApi,
    api: `http://${host}:${apiPort}`,
    allowed: `http://${host}:${allowedPort}`,
    blocked: `http://${host}:${blockedPort}`,
  };
  try {
    const common = ["--host", host, "--api-port", String(apiPort)];
    const withApi = npmRunDemo(
      "npm run demo",
      [
        ...common,
        "--port",
        String(allowedPort),
        "--",
        // Credentials mode on, so the browser test can use credentials: "include".
        "--var",
        "CORS_CREDENTIALS:true",
        // Email sign-in on, so the demo signs in by an emailed code and link.
        "--var",
        "EMAIL_LOGIN:both",
        "--persist-to",
        dir,
        "--inspector-port",
        String(inspector),
      ],
      mail.env,
    );
    const pageOnly = npmRunDemo("npm run demo --no-api", [...common, "--port", String(blockedPort), "--no-api"]);
    await Promise.all([
      waitFor(withApi, `${demo.api}/health`),
      waitFor(withApi, `${demo.allowed}/`),
      waitFor(pageOnly, `${demo.blocked}/`),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  project.provide("demo", demo);
  return stop;
}
