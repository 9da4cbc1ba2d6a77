import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { deployedUrl, withDatabaseId } from "../../scripts/deploy.mjs";

// `npm run deploy` (scripts/deploy.mjs) and `config-check.mjs --deploy`, run as they are
// against test/support/wrangler-stand-in.mjs, first on PATH as `wrangler`: it answers in
// wrangler 4.86.0's shapes and keeps the Cloudflare side (databases, worker, secrets,
// applied migrations) in a state file outside the project. Each test works in a fresh copy
// of wrangler.toml and migrations/; the deployed worker's /health is a local server.

const root = fileURLToPath(new URL("../..", import.meta.url));
const standIn = fileURLToPath(new URL("../support/wrangler-stand-in.mjs", import.meta.url));
const pristineToml = readFileSync(join(root, "wrangler.toml"), "utf8");
const migrations = readdirSync(join(root, "migrations")).filter((file) => file.endsWith(".sql"));
const PLACEHOLDER = 'database_id = "00000000-0000-0000-0000-000000000000"';

type Fingerprint = { length: number; sha256: string };
type Call = { argv: string[]; cwd: string; stdin?: { bytes: number }; secrets?: Record<string, Fingerprint> };
type Database = { uuid: string; name: string; created_at: string; version: string };
type State = {
  loggedIn: boolean;
  email: string;
  accountName: string;
  accountId: string;
  subdomain: string;
  workersDevUrl?: string;
  databases: Database[];
  workers: Record<string, { deployed: boolean; secrets: Record<string, string> }>;
  applied: Record<string, string[]>;
  faults: { migration?: string; dropSecret?: string };
  calls: Call[];
};
type Run = { status: number | null; stdout: string; stderr: string };

const dirs: string[] = [];
const servers: Server[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The deployed worker, as far as the health check sees it: a local server whose /health
 * answers `answer` (200 {"status":"ok"} unless a test changes it), recording each path. */
async function fakeWorker() {
  const worker = { answer: { status: 200, body: { status: "ok" } as unknown }, requests: [] as string[], url: "" };
  const server = createServer((req, res) => {
    worker.requests.push(req.url ?? "");
    const found = req.url === "/health";
    res.writeHead(found ? worker.answer.status : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(found ? worker.answer.body : { error: { code: "not_found", message: "Not found" } }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  worker.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return worker;
}

/** A project copy, a Cloudflare account (logged in, empty), and `wrangler` on PATH. */
async function setup(edit: (toml: string) => string = (toml) => toml) {
  const worker = await fakeWorker();
  const base = mkdtempSync(join(tmpdir(), "edge-auth-deploy-test-"));
  dirs.push(base);
  const project = join(base, "project");
  const bin = join(base, "bin");
  const scratch = join(base, "tmp");
  for (const dir of [project, bin, scratch]) mkdirSync(dir);
  writeFileSync(join(project, "wrangler.toml"), edit(pristineToml));
  cpSync(join(root, "migrations"), join(project, "migrations"), { recursive: true });
  writeFileSync(join(bin, "wrangler"), `#!/bin/sh\nexec "${process.execPath}" "${standIn}" "$@"\n`, { mode: 0o755 });
  const statePath = join(base, "cloudflare.json");
  const state: State = {
    loggedIn: true,
    email: "dev@example.com",
    accountName: "Example",
    accountId: "0123456789abcdef0123456789abcdef",
    subdomain: "example",
    workersDevUrl: worker.url,
    databases: [],
    workers: {},
    applied: {},
    faults: {},
    calls: [],
  };
  writeFileSync(statePath, JSON.stringify(state));
  const account = {
    worker,
    read: (): State => JSON.parse(readFileSync(statePath, "utf8")),
    change(edit: (state: State) => void) {
      const current = account.read();
      edit(current);
      writeFileSync(statePath, JSON.stringify(current));
    },
    /** The commands called since `from` (an index into `calls`), as "d1 create edge-auth-api". */
    commands: (from = 0) =>
      account
        .read()
        .calls.slice(from)
        .map((call) => call.argv.join(" ")),
    configPath: join(project, "wrangler.toml"),
    toml: () => readFileSync(join(project, "wrangler.toml"), "utf8"),
    /** Runs `node <script> ...args` with the project copy as its working directory. */
    run(script: string, args: string[] = []): Promise<Run> {
      const child = spawn(process.execPath, [join(root, script), ...args], {
        cwd: project,
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          WRANGLER_STAND_IN_STATE: statePath,
          TMPDIR: scratch,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
      });
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      return new Promise((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
    },
    deploy: (args: string[] = []) => account.run("scripts/deploy.mjs", args),
    /** Leftovers of the script in its TMPDIR, other than tsx's compile cache. */
    leftovers: () => readdirSync(scratch).filter((name) => !name.startsWith("tsx-")),
    /** Every file of the project copy, as text. */
    projectText: () => filesUnder(project).map((path) => readFileSync(path, "utf8")),
  };
  return account;
}

type Account = Awaited<ReturnType<typeof setup>>;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function sha256(value: string) {
  return createHash("sha256").update(value).digest("hex");
}

/** Fails unless no secret value (nor a JWK's private part) shows anywhere but Cloudflare. */
function expectNoSecretLeak(account: Account, runs: Run[]) {
  const state = account.read();
  const values = Object.values(state.workers).flatMap((worker) => Object.values(worker.secrets));
  expect(values.length).toBeGreaterThan(0);
  const needles = values.flatMap((value) => {
    const jwkParts = value.startsWith("[") ? (JSON.parse(value) as { d?: string }[]).map((jwk) => jwk.d ?? "") : [];
    return [value, ...jwkParts.filter(Boolean)];
  });
  const haystacks = [
    ...runs.flatMap((run) => [run.stdout, run.stderr]),
    JSON.stringify(state.calls.map((call) => call.argv)),
    ...account.projectText(),
  ];
  for (const needle of needles) for (const haystack of haystacks) expect(haystack.includes(needle)).toBe(false);
  expect(account.leftovers()).toEqual([]);
}

const FIRST_DEPLOY = [
  "whoami --json",
  "d1 list --json",
  "secret list --format json",
  "d1 create edge-auth-api",
  "d1 list --json",
  "secret bulk",
  "secret list --format json",
  "d1 migrations apply DB --remote",
  "deploy",
];

describe.concurrent("npm run deploy", { timeout: 120_000 }, () => {
  it("first deploy: creates D1 and writes its id, uploads generated secrets, migrates, deploys, checks /health", async () => {
    const account = await setup();
    const run = await account.deploy();
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(account.commands()).toEqual(FIRST_DEPLOY);

    const state = account.read();
    const [db] = state.databases;
    expect(db?.name).toBe("edge-auth-api");
    // Only the id line changed in wrangler.toml.
    expect(account.toml()).toBe(pristineToml.replace(PLACEHOLDER, `database_id = "${db?.uuid}"`));

    const secrets = state.workers["edge-auth-api"]?.secrets ?? {};
    expect(Object.keys(secrets).sort()).toEqual(["MFA_ENCRYPTION_KEY", "TOKEN_KEY"]);
    for (const value of Object.values(secrets)) expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets.TOKEN_KEY).not.toBe(secrets.MFA_ENCRYPTION_KEY);
    // Uploaded through stdin: the argv is bare, the record holds fingerprints only.
    const bulk = state.calls.find((call) => call.argv[1] === "bulk");
    expect(bulk?.argv).toEqual(["secret", "bulk"]);
    expect(bulk?.stdin?.bytes).toBeGreaterThan(128);
    for (const [name, value] of Object.entries(secrets)) {
      expect(bulk?.secrets?.[name]).toEqual({ length: value.length, sha256: sha256(value) });
    }

    expect(state.applied[db?.uuid ?? ""]).toEqual(migrations);
    expect(state.workers["edge-auth-api"]?.deployed).toBe(true);
    expect(account.worker.requests).toEqual(["/health"]);
    expect(run.stdout).toContain(`Deployed: ${account.worker.url}`);
    expect(run.stdout).toMatch(/Next steps[\s\S]*Custom domain[\s\S]*CORS_ORIGINS[\s\S]*PUBLIC_URL/);
    expectNoSecretLeak(account, [run]);
  });

  it("redeploy: creates and uploads nothing, migrates (a no-op), deploys and checks /health", async () => {
    const account = await setup();
    expect((await account.deploy()).status).toBe(0);
    const before = account.read();
    const toml = account.toml();

    const run = await account.deploy();
    expect(run.status).toBe(0);
    expect(account.commands(before.calls.length)).toEqual([
      "whoami --json",
      "secret list --format json",
      "d1 migrations apply DB --remote",
      "deploy",
    ]);
    const after = account.read();
    expect(account.toml()).toBe(toml);
    expect(after.databases).toEqual(before.databases);
    expect(after.workers["edge-auth-api"]?.secrets).toEqual(before.workers["edge-auth-api"]?.secrets);
    expect(run.stdout).toContain("No migrations to apply");
    expect(account.worker.requests).toEqual(["/health", "/health"]);
    expectNoSecretLeak(account, [run]);
  });

  it("uses a database an interrupted run created (same name) instead of creating another", async () => {
    const account = await setup();
    const uuid = "7f0b8c1e-3d2a-4b5c-9e8f-0a1b2c3d4e5f";
    account.change((state) => {
      state.databases.push({
        uuid,
        name: "edge-auth-api",
        created_at: "2026-01-01T00:00:00.000Z",
        version: "production",
      });
    });
    const run = await account.deploy();
    expect(run.status).toBe(0);
    expect(account.commands()).not.toContain("d1 create edge-auth-api");
    expect(account.read().databases).toHaveLength(1);
    expect(account.toml()).toContain(`database_id = "${uuid}"`);
  });

  it("with JWT_ALG = ES256 generates JWT_PRIVATE_KEYS (a valid private JWK array) instead of TOKEN_KEY", async () => {
    const account = await setup((toml) => toml.replace('JWT_ALG = "HS256"', 'JWT_ALG = "ES256"'));
    const run = await account.deploy();
    expect(run.status).toBe(0);
    const secrets = account.read().workers["edge-auth-api"]?.secrets ?? {};
    expect(Object.keys(secrets).sort()).toEqual(["JWT_PRIVATE_KEYS", "MFA_ENCRYPTION_KEY"]);
    const keys = JSON.parse(secrets.JWT_PRIVATE_KEYS ?? "null") as (JsonWebKey & { kid: string })[];
    expect(keys).toHaveLength(1);
    const [jwk] = keys;
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwk?.kid).toMatch(/^\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/);
    const key = await crypto.subtle.importKey("jwk", jwk as JsonWebKey, { name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
    ]);
    expect(key.type).toBe("private");
    expectNoSecretLeak(account, [run]);
  });

  it("refuses to migrate or deploy while a required secret is still missing after the upload", async () => {
    const account = await setup();
    account.change((state) => {
      state.faults.dropSecret = "MFA_ENCRYPTION_KEY";
    });
    const run = await account.deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/MFA_ENCRYPTION_KEY still missing in Cloudflare after the upload/);
    expect(run.stderr).toContain("nothing was migrated or deployed");
    expect(account.commands()).toEqual(FIRST_DEPLOY.slice(0, 7));
    expect(account.read().applied).toEqual({});
    expect(account.worker.requests).toEqual([]);
  });

  it("stops at a failed migration: nothing deployed, the reason shown", async () => {
    const account = await setup();
    account.change((state) => {
      state.faults.migration = "0003_login_failures.sql";
    });
    const run = await account.deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("a remote migration failed, so nothing was deployed");
    expect(run.stderr).toContain("SQLITE_ERROR");
    expect(account.commands()).toEqual(FIRST_DEPLOY.slice(0, 8));
    const state = account.read();
    expect(state.workers["edge-auth-api"]?.deployed).toBe(false);
    expect(Object.values(state.applied)).toEqual([migrations.slice(0, 3)]);

    // Fixed, the next run goes on from there.
    account.change((current) => {
      current.faults = {};
    });
    const again = await account.deploy();
    expect(again.status).toBe(0);
    expect(Object.values(account.read().applied)).toEqual([migrations]);
  });

  it("exits non-zero when /health does not answer 200, saying what to look at", async () => {
    const account = await setup();
    account.worker.answer = {
      status: 500,
      body: { error: { code: "server_misconfigured", message: "Server is misconfigured" } },
    };
    const run = await account.deploy(["--health-timeout", "1"]);
    expect(run.status).toBe(1);
    expect(account.commands()).toEqual(FIRST_DEPLOY);
    expect(run.stderr).toContain(
      `the worker is deployed but GET ${account.worker.url}/health answered 500 server_misconfigured`,
    );
    expect(run.stderr).toContain("npx wrangler tail");
    expect(run.stderr).toContain("npx wrangler rollback");
    expect(run.stdout).not.toContain("Next steps");
  });

  it("refuses, before changing anything, a secret it cannot generate (SMTP_URL with MAIL_TRANSPORT=smtp)", async () => {
    const account = await setup((toml) =>
      toml
        .replace('MAIL_TRANSPORT = "none"', 'MAIL_TRANSPORT = "smtp"')
        .replace('MAIL_FROM = ""', 'MAIL_FROM = "no-reply@example.com"')
        .replace('PUBLIC_URL = ""', 'PUBLIC_URL = "https://auth.example.com"'),
    );
    const before = account.toml();
    const run = await account.deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("SMTP_URL is required by this configuration and cannot be generated");
    expect(run.stderr).toContain("npx wrangler secret put SMTP_URL");
    expect(account.commands()).toEqual(FIRST_DEPLOY.slice(0, 3));
    expect(account.toml()).toBe(before);
  });

  it("stops when not logged in to Cloudflare, having called only whoami", async () => {
    const account = await setup();
    account.change((state) => {
      state.loggedIn = false;
    });
    const run = await account.deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("npx wrangler login");
    expect(account.commands()).toEqual(["whoami --json"]);
  });

  it("lists every bad [vars] setting at once and calls no wrangler", async () => {
    const account = await setup((toml) =>
      toml.replace('TOKEN_TTL = "5h"', 'TOKEN_TTL = "5 hours"').replace('BCRYPT_COST = "10"', 'BCRYPT_COST = "3"'),
    );
    const run = await account.deploy();
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/2 problems:[\s\S]*TOKEN_TTL[\s\S]*BCRYPT_COST/);
    expect(account.commands()).toEqual([]);
  });

  it("--dry-run looks without changing anything", async () => {
    const account = await setup();
    const run = await account.deploy(["--dry-run"]);
    expect(run.status).toBe(0);
    expect(account.commands()).toEqual(FIRST_DEPLOY.slice(0, 3));
    expect(run.stdout).toContain("it will be created");
    expect(run.stdout).toContain("TOKEN_KEY, MFA_ENCRYPTION_KEY missing");
    expect(account.toml()).toBe(pristineToml);
  });
});

describe.concurrent("config-check --deploy", { timeout: 120_000 }, () => {
  const check = (account: Account, args: string[] = []) =>
    account.run("scripts/config-check.mjs", ["--deploy", "--config", account.configPath, ...args]);

  it("fails while a required secret is missing in Cloudflare, and passes once every one is set", async () => {
    const account = await setup();
    const before = await check(account);
    expect(before.status).toBe(1);
    expect(before.stderr).toMatch(
      /2 problems:\s+- TOKEN_KEY is not set in Cloudflare: `npm run deploy` generates and uploads it\s+- MFA_ENCRYPTION_KEY is not set in Cloudflare/,
    );

    expect((await account.deploy()).status).toBe(0);
    const after = await check(account);
    expect(after.status).toBe(0);
    expect(after.stdout).toContain("TOKEN_KEY, MFA_ENCRYPTION_KEY are set in Cloudflare");

    account.change((state) => {
      delete state.workers["edge-auth-api"]?.secrets.MFA_ENCRYPTION_KEY;
    });
    const one = await check(account);
    expect(one.status).toBe(1);
    expect(one.stderr).toMatch(/1 problem:\s+- MFA_ENCRYPTION_KEY is not set in Cloudflare/);
  });

  it("lists [vars] problems and missing secrets together", async () => {
    const account = await setup((toml) => toml.replace('LOCKOUT_AFTER = "5"', 'LOCKOUT_AFTER = "0"'));
    const run = await check(account);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /3 problems:[\s\S]*LOCKOUT_AFTER[\s\S]*TOKEN_KEY is not set[\s\S]*MFA_ENCRYPTION_KEY is not set/,
    );
  });

  it("fails closed when the secrets cannot be listed; --skip-secrets checks [vars] only", async () => {
    const account = await setup();
    account.change((state) => {
      state.loggedIn = false;
    });
    const closed = await check(account);
    expect(closed.status).toBe(1);
    expect(closed.stderr).toContain("the worker's secrets could not be listed");
    expect(closed.stderr).toContain("npx wrangler login");
    const skipped = await check(account, ["--skip-secrets"]);
    expect(skipped.status).toBe(0);
    expect(skipped.stdout).toContain("secrets not checked");
  });
});

describe("the deploy script's pieces", () => {
  it("finds the URL in wrangler's deploy targets: workers.dev first, then a custom domain, then PUBLIC_URL", () => {
    expect(deployedUrl(["https://edge-auth-api.example.workers.dev", "schedule: 23 * * * *"])).toBe(
      "https://edge-auth-api.example.workers.dev",
    );
    expect(deployedUrl(["auth.example.com (custom domain)", "schedule: 23 * * * *"])).toBe("https://auth.example.com");
    expect(deployedUrl(["example.com/auth/*", "schedule: 23 * * * *"], "https://example.com/auth/")).toBe(
      "https://example.com/auth",
    );
    expect(deployedUrl(["example.com/auth/*"], "")).toBeUndefined();
  });

  it("writes database_id into the DB table of wrangler.toml only", () => {
    const toml =
      '[[d1_databases]]\nbinding = "OTHER"\ndatabase_name = "x"\n\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "y"\n';
    expect(withDatabaseId(toml, "DB", "abc")).toBe(
      '[[d1_databases]]\nbinding = "OTHER"\ndatabase_name = "x"\n\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "y"\ndatabase_id = "abc"\n',
    );
    expect(withDatabaseId(pristineToml, "DB", "abc")).toBe(pristineToml.replace(PLACEHOLDER, 'database_id = "abc"'));
  });
});
