import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { serveDemo } from "../../scripts/demo-server.mjs";
import { freePort, type Running, spawnNpm, stopAll } from "../support/processes";

/** Real host names over HTTPS: the app and the API on one site (example.test), a
 * hostile page on another (evil.test). Chromium maps *.test to 127.0.0.1. */
export type Sites = { app: string; api: string; evil: string };

declare module "vitest" {
  export interface ProvidedContext {
    sites: Sites;
  }
}

const running: Running[] = [];
const servers: Server[] = [];
const dirs: string[] = [];

async function stop() {
  await stopAll(running);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

/** A throwaway self-signed certificate for every name the tests use. */
export function makeCertificate(dir: string) {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=example.test",
      "-addext",
      "subjectAltName=DNS:*.example.test,DNS:app.example.test,DNS:api.example.test,DNS:evil.test",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { key, cert };
}

/** Polls an HTTPS URL on loopback (trusting `ca`) until it answers 200, or 90 s pass. */
export async function waitForHttps(running: Running, url: string, ca: Buffer) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && running.child.exitCode === null) {
    const status = await new Promise<number>((resolve) => {
      const req = request(url, { ca, servername: "api.example.test", timeout: 5_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", () => resolve(0));
      req.on("timeout", () => req.destroy());
      req.end();
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${running.name} did not answer ${url}:\n${running.log.join("")}`);
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-sites-"));
  dirs.push(dir);
  try {
    const { key, cert } = makeCertificate(dir);
    const [apiPort, inspector, appPort, evilPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const sites: Sites = {
      app: `https://app.example.test:${appPort}`,
      api: `https://api.example.test:${apiPort}`,
      evil: `https://evil.test:${evilPort}`,
    };
    const idpPort = await freePort();
    const api = spawnNpm(
      "npm run dev (https)",
      [
        "run",
        "dev",
        "--",
        "--port",
        String(apiPort),
        "--ip",
        "127.0.0.1",
        "--local-protocol",
        "https",
        "--https-key-path",
        key,
        "--https-cert-path",
        cert,
        "--inspector-port",
        String(inspector),
        "--persist-to",
        join(dir, "d1"),
        "--var",
        `CORS_ORIGINS:${sites.app}`,
        "--var",
        "CORS_CREDENTIALS:true",
        // The Local IdP's client gets this server's real callback (not http://127.0.0.1:…).
        "--var",
        `PUBLIC_URL:${sites.api}`,
      ],
      { LOCAL_IDP_PORT: String(idpPort) },
    );
    running.push(api);
    const tls = { key: readFileSync(key), cert: readFileSync(cert) };
    servers.push(await serveDemo({ host: "127.0.0.1", port: appPort, tls }));
    servers.push(await serveDemo({ host: "127.0.0.1", port: evilPort, tls }));
    await waitForHttps(api, `https://127.0.0.1:${apiPort}/health`, tls.cert);
    project.provide("sites", sites);
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}
