import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fillDevVars } from "../../scripts/dev-vars.mjs";
import { freePort, mailCatcherPorts, type Running, spawnNpm, startDev, stopAll } from "../support/processes";

// The first hour of a newcomer, over real processes: every mistake gets an answer that
// names the cause and the fix, never a stack trace.

const root = fileURLToPath(new URL("../../", import.meta.url));
const dirs: string[] = [];
const started: Running[] = [];

afterAll(async () => {
  await stopAll(started);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-first-hour-"));
  dirs.push(dir);
  return dir;
}

/** Runs `npm <args>` to its end; resolves to its exit code and everything it printed. */
async function npmToEnd(args: string[]): Promise<{ code: number | null; output: string }> {
  const run = spawnNpm(`npm ${args.join(" ")}`, args, (await mailCatcherPorts()).env);
  started.push(run);
  const code = await new Promise<number | null>((resolve) => run.child.once("exit", resolve));
  // Output may still be in the pipes when the process exits.
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { code, output: run.log.join("") };
}

/** Holds a loopback port until the test ends, like a server that is already running. */
async function occupied(): Promise<{ port: number; server: Server }> {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { port, server };
}

const STACK_FRAME = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe("npm run dev", () => {
  it("lists every invalid setting at once and does not start", async () => {
    const { code, output } = await npmToEnd([
      "run",
      "dev",
      "--",
      "--port",
      String(await freePort()),
      "--var",
      "TOKEN_TTL:forever",
      "--var",
      "BCRYPT_COST:3",
      "--var",
      "CORS_ORIGINS:https://app.example.com/",
    ]);
    expect(code).toBe(1);
    expect(output).toContain("the configuration has 3 problems");
    for (const name of ["TOKEN_TTL", "BCRYPT_COST", "CORS_ORIGINS"]) expect(output).toContain(`  - ${name}`);
    expect(output).toContain("wrangler dev was not started");
    expect(output).not.toMatch(STACK_FRAME);
  });

  it("on a busy port says so and how to choose another, instead of moving to the next port", async () => {
    const { port, server } = await occupied();
    try {
      const { code, output } = await npmToEnd(["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1"]);
      expect(code).toBe(1);
      expect(output).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(output).toContain(`npm run dev -- --port ${port + 1}`);
      expect(output).not.toMatch(STACK_FRAME);
    } finally {
      server.close();
    }
  });
});

describe("npm run demo on a busy port", () => {
  it("names the busy port and the flag that picks another (--port for the page, --api-port for the API)", async () => {
    const { port, server } = await occupied();
    try {
      const page = await npmToEnd(["run", "demo", "--", "--host", "127.0.0.1", "--port", String(port), "--no-api"]);
      expect(page.code).toBe(1);
      expect(page.output).toContain(`port ${port} for the page is in use`);
      expect(page.output).toContain("npm run demo -- --port");
      expect(page.output).not.toMatch(STACK_FRAME);
      const freePage = await freePort();
      const api = await npmToEnd([
        "run",
        "demo",
        "--",
        "--host",
        "127.0.0.1",
        "--port",
        String(freePage),
        "--api-port",
        String(port),
      ]);
      expect(api.code).toBe(1);
      expect(api.output).toContain(`port ${port} for the API is in use`);
      expect(api.output).toContain("npm run demo -- --api-port");
      expect(api.output).not.toMatch(STACK_FRAME);
    } finally {
      server.close();
    }
  });
});

describe(".dev.vars bootstrap (scripts/dev-vars.mjs, run by npm run dev)", () => {
  it("fills an empty TOKEN_KEY in a copy of .dev.vars.example and keeps everything else", async () => {
    const file = join(tempDir(), ".dev.vars");
    writeFileSync(file, readFileSync(join(root, ".dev.vars.example"), "utf8"));
    expect(await fillDevVars(file)).toBe(
      "Completed .dev.vars with a random 256-bit TOKEN_KEY, MFA_ENCRYPTION_KEY, EMAIL_LOGIN_KEY",
    );
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^TOKEN_KEY=[0-9a-f]{64}$/m);
    expect(text).toMatch(/^JWT_PRIVATE_KEYS=$/m);
    expect(text).toContain("# Local secrets for `wrangler dev`");
    expect(await fillDevVars(file)).toBeUndefined();
  });

  it("adds a missing TOKEN_KEY and the other secrets' lines, and never replaces a key that is set", async () => {
    const file = join(tempDir(), ".dev.vars");
    writeFileSync(file, "# mine\nBCRYPT_COST=12");
    await fillDevVars(file);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(
      /^# mine\nBCRYPT_COST=12\nTOKEN_KEY=[0-9a-f]{64}\nJWT_PRIVATE_KEYS=\nSOCIAL_APPLE_PRIVATE_KEY=\nSMTP_URL=\nMFA_ENCRYPTION_KEY=[0-9a-f]{64}\nEMAIL_LOGIN_KEY=[0-9a-f]{64}\n$/,
    );
    writeFileSync(file, "TOKEN_KEY=my-own-key-that-is-long-enough-0123456789\n");
    await fillDevVars(file);
    expect(readFileSync(file, "utf8")).toContain("TOKEN_KEY=my-own-key-that-is-long-enough-0123456789\n");
  });

  it("creates .dev.vars when there is none", async () => {
    const file = join(tempDir(), ".dev.vars");
    expect(await fillDevVars(file)).toBe(
      "Created .dev.vars with a random 256-bit TOKEN_KEY, MFA_ENCRYPTION_KEY, EMAIL_LOGIN_KEY",
    );
    expect(readFileSync(file, "utf8")).toMatch(/^TOKEN_KEY=[0-9a-f]{64}$/m);
  });
});

describe("config-check --deploy", () => {
  it("checks wrangler.toml's [vars] and lists every problem (the secrets in Cloudflare: test/http/deploy.test.ts)", () => {
    const config = join(tempDir(), "wrangler.toml");
    const toml = readFileSync(join(root, "wrangler.toml"), "utf8")
      .replace(/^BCRYPT_COST = "10"$/m, 'BCRYPT_COST = "9"')
      .replace(/^LOCKOUT_MAX = "1h"$/m, 'LOCKOUT_MAX = "one hour"');
    writeFileSync(config, toml);
    let output = "";
    let status = 0;
    try {
      execFileSync(process.execPath, ["scripts/config-check.mjs", "--deploy", "--skip-secrets", "--config", config], {
        cwd: root,
        stdio: "pipe",
        encoding: "utf8",
      });
    } catch (err) {
      ({ status, stderr: output } = err as { status: number; stderr: string });
    }
    expect(status).toBe(1);
    expect(output).toContain("the configuration has 2 problems");
    expect(output).toContain("BCRYPT_COST");
    expect(output).toContain("LOCKOUT_MAX");
  });

  it("passes mail over SMTP, whose SMTP_URL is a secret Cloudflare keeps, not a var", () => {
    const config = join(tempDir(), "wrangler.toml");
    const toml = readFileSync(join(root, "wrangler.toml"), "utf8")
      .replace(/^MAIL_TRANSPORT = "none"$/m, 'MAIL_TRANSPORT = "smtp"')
      .replace(/^PUBLIC_URL = ""$/m, 'PUBLIC_URL = "https://auth.example.com"')
      .replace(/^MAIL_FROM = ""$/m, 'MAIL_FROM = "Acme <no-reply@example.com>"');
    writeFileSync(config, toml);
    const output = execFileSync(
      process.execPath,
      ["scripts/config-check.mjs", "--deploy", "--skip-secrets", "--config", config],
      {
        cwd: root,
        stdio: "pipe",
        encoding: "utf8",
      },
    );
    expect(output).toContain("every setting in wrangler.toml is valid");
  });
});

describe("plain wrangler dev, without the migrations", () => {
  it("answers 500 server_misconfigured (on /health too) and logs npm run db:migrate:local", async () => {
    const flags = ["--var", "TOKEN_KEY:first-hour-test-key-0123456789abcdef0123"];
    const wrangler = ["exec", "--", "wrangler", "dev"];
    const { server, url: base } = await startDev(started, "wrangler dev (no migrations)", tempDir(), flags, wrangler);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(500);
    expect(((await health.json()) as { error: { code: string } }).error.code).toBe("server_misconfigured");
    const register = await fetch(`${base}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ firstName: "A", lastName: "B", email: "a@example.com", password: "first-hour-pw" }),
    });
    expect(register.status).toBe(500);
    expect(register.headers.get("retry-after")).toBeNull();
    expect(await register.json()).toEqual({
      error: {
        code: "server_misconfigured",
        message: "Server is misconfigured: the database migrations have not been applied",
      },
    });
    const deadline = Date.now() + 10_000;
    while (!server.log.join("").includes("npm run db:migrate:local") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(server.log.join("")).toContain("npm run db:migrate:local");
  }, 120_000);
});
