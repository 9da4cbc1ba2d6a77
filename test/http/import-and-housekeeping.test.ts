import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { EJSON, ObjectId } from "bson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startDev, stopAll, waitFor } from "../support/processes";

// Exports as `mongoexport` writes them from the tutorial app's users collection, made
// here with bson's EJSON, imported with `npm run import:users` into a fresh local D1,
// then used by `npm run dev` on the same --persist-to. The same server runs with
// `--test-scheduled`, so its Cron Trigger (housekeeping) can be fired over HTTP.

type Person = { id: string; email: string; password: string; hash: string };
const dir = mkdtempSync(join(tmpdir(), "edge-auth-import-"));
const db = join(dir, "d1");
const running: Running[] = [];
let base = "";
const outputs: Record<string, string> = {};
let arrayText = "";

function person(prefix: string, cost: number, password = `old-${prefix}-password`): Person {
  const hash = `$${prefix}$${bcrypt.hashSync(password, cost).slice(4)}`;
  const id = new ObjectId().toHexString();
  return { id, email: `Imported-${prefix}-${cost}-${id}@Example.COM`, password, hash };
}

function doc(p: Person, extra: Record<string, unknown> = {}) {
  return {
    _id: new ObjectId(p.id),
    first_name: "Ada",
    last_name: "Lovelace",
    email: `  ${p.email} `,
    password: p.hash,
    token: "an-old-jwt-that-is-dropped",
    __v: 0,
    createdAt: new Date("2021-03-04T05:06:07.000Z"),
    ...extra,
  };
}

// Line-per-document, canonical mode: $2a$ at costs 10 and 8, $2y$ at 10, and bad rows.
const a10 = person("2a", 10);
const a08 = person("2a", 8);
const y10 = person("2y", 10);
// --jsonArray, relaxed mode: $2b$ at 9.
const b09 = person("2b", 9);
const noName = person("2b", 4);
// Above the server's BCRYPT_COST (10): the import warns about it.
const b12 = person("2b", 12);
// 71 ASCII bytes, then é: the tutorial's bcryptjs hashed the first 72 bytes of it.
const long = person("2a", 4, `${"long tutorial password ".repeat(4).slice(0, 71)}é and more after byte 72`);

/** The import's output, stdout then stderr (where its warnings go). */
function importUsers(file: string, ...flags: string[]) {
  const run = spawnSync("npm", ["run", "-s", "import:users", "--", file, "--local", "--persist-to", db, ...flags], {
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (run.status !== 0) throw new Error(`import:users failed: ${run.stderr}${run.stdout}`);
  return `${run.stdout}${run.stderr}`;
}

function d1(sql: string): Record<string, unknown>[] {
  const out = execFileSync(
    "npx",
    ["wrangler", "d1", "execute", "DB", "--local", "--persist-to", db, "--json", "--command", sql],
    { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  return JSON.parse(out)[0].results;
}

function storedHash(id: string): string {
  return String(d1(`SELECT password_hash FROM users WHERE id = '${id}'`)[0]?.password_hash);
}

/** fetch, again (up to 4 more times, a moment apart) when wrangler dev's proxy had closed
 * the kept-alive socket while `wrangler d1 execute` ran on the same database (the request
 * never reached the worker: the server logs nothing for it). */
async function request(url: string, init: RequestInit = {}, retries = 4): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (retries > 0 && (err as { cause?: { code?: string } }).cause?.code === "UND_ERR_SOCKET") {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return request(url, init, retries - 1);
    }
    throw err;
  }
}

function login(email: string, password: string): Promise<Response> {
  return request(`${base}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
}

beforeAll(async () => {
  const lines = [
    doc(a10),
    doc(a08, { updatedAt: new Date("2022-01-02T03:04:05.000Z") }),
    doc(y10),
    { ...doc(person("2a", 4)), email: "not-an-email" },
    { ...doc(person("2a", 4)), password: "plain-text-password" },
    { ...doc(person("2a", 4)), password: `$2b$15$${"a".repeat(53)}` },
    { ...doc(person("2a", 4)), email: a10.email.toUpperCase() },
    { ...doc(person("2a", 4)), email: undefined },
    doc(b12),
    doc(long),
  ].map((value) => EJSON.stringify(value, { relaxed: false }));
  lines.splice(2, 0, "{ this is not json");
  writeFileSync(join(dir, "users.json"), `${lines.join("\n")}\n`);
  const array = [doc(b09), { ...doc(noName), first_name: "" }];
  arrayText = EJSON.stringify(array, undefined, 2, { relaxed: true });
  writeFileSync(join(dir, "users-array.json"), arrayText);

  outputs.dry = importUsers(join(dir, "users.json"), "--dry-run");
  outputs.lines = importUsers(join(dir, "users.json"));
  outputs.again = importUsers(join(dir, "users.json"));
  outputs.array = importUsers(join(dir, "users-array.json"));

  const flags = ["--var", "BCRYPT_COST:10", "--test-scheduled"];
  const dev = await startDev(running, "npm run dev (imported users)", db, flags);
  base = dev.url;
  await waitFor(dev.server, `${base}/health`);
}, 180_000);

afterAll(async () => {
  await stopAll(running);
  rmSync(dir, { recursive: true, force: true });
});

describe("npm run import:users", () => {
  it("reports each invalid row with its line and reason and imports the rest", () => {
    expect(outputs.lines).toContain("Imported 5 of 11 users into the local database");
    expect(outputs.lines).toMatch(/invalid email: line 5\b/);
    expect(outputs.lines).toMatch(/not valid Extended JSON: line 3\b/);
    expect(outputs.lines).toMatch(/password is not a bcrypt hash: line 6\b/);
    expect(outputs.lines).toMatch(/bcrypt cost above 14 \(every login would exceed the Workers CPU budget\): line 7\b/);
    expect(outputs.lines).toMatch(/duplicate email in the file \(after normalization\): line 8\b/);
    expect(outputs.lines).toMatch(/no email: line 9\b/);
    expect(outputs.lines).toContain("Skipped 6:");
    expect(outputs.lines).not.toContain(a10.hash);
  });

  it("warns about hashes above BCRYPT_COST, naming how many and the highest cost", () => {
    for (const output of [outputs.lines, outputs.dry]) {
      expect(output).toContain("Warning: 1 hash in this import has a bcrypt cost above BCRYPT_COST (10), up to 12.");
      expect(output).toContain("Set BCRYPT_COST to 12 or more");
    }
    expect(outputs.array).not.toContain("Warning");
  });

  it("marks every imported row as imported", () => {
    expect(d1(`SELECT DISTINCT password_imported FROM users`)).toEqual([{ password_imported: 1 }]);
  });

  it("validates without writing on --dry-run", () => {
    expect(outputs.dry).toContain("Would import 5 of 11 users");
  });

  it("imports nothing twice when the same file runs again", () => {
    expect(outputs.again).toContain("Imported 0 of 11 users");
    expect(outputs.again).toContain(
      "already in the local database: line 1, line 2, line 4, line 8, line 10, line 11\n",
    );
    expect(outputs.again).not.toContain("Warning");
  });

  it("reads a --jsonArray export in relaxed mode and skips a row without a first name", () => {
    expect(outputs.array).toContain("Imported 1 of 2 users");
    // Each element starts on its own "  {" line in the pretty-printed array.
    const starts = arrayText.split("\n").flatMap((line, i) => (line === "  {" ? [i + 1] : []));
    expect(starts).toHaveLength(2);
    expect(outputs.array).toContain(`no first_name: line ${starts[1]}\n`);
  });
});

describe("imported users over real HTTP", () => {
  it("log in with their old passwords, under their old ids and normalized emails", async () => {
    for (const p of [a10, a08, y10, b09, b12, long]) {
      const res = await login(p.email, p.password);
      expect(res.status, p.hash.slice(0, 7)).toBe(200);
      const body = (await res.json()) as { id: string; email: string; first_name: string; created_at: string };
      expect(body).toMatchObject({ id: p.id, email: p.email.toLowerCase(), first_name: "Ada" });
      expect(body.created_at).toBe("2021-03-04T05:06:07.000Z");
    }
    expect((await login(a10.email, "a-wrong-password")).status).toBe(400);
  });

  it("upgrades a hash below BCRYPT_COST at the first login and keeps one at the cost", async () => {
    // The test above logged each of them in once already.
    const upgraded = storedHash(a08.id);
    expect(upgraded).not.toBe(a08.hash);
    expect(bcrypt.getRounds(upgraded)).toBe(10);
    expect((await login(a08.email, a08.password)).status).toBe(200);

    expect((await login(a10.email, a10.password)).status).toBe(200);
    expect(storedHash(a10.id)).toBe(a10.hash);
    expect(storedHash(y10.id)).toBe(y10.hash);
    // Above the cost too: rehashed down to it, so failing logins cost what everyone's do.
    expect(bcrypt.getRounds(storedHash(b12.id))).toBe(10);
  });

  it("log in with a password over 72 bytes, checked on its first 72 as the tutorial did, before and after the rehash", async () => {
    // The test above logged in once already: the hash is now at cost 10, still imported.
    expect(bcrypt.getRounds(storedHash(long.id))).toBe(10);
    expect(d1(`SELECT password_imported FROM users WHERE id = '${long.id}'`)).toEqual([{ password_imported: 1 }]);
    expect((await login(long.email, long.password)).status).toBe(200);
    expect((await login(long.email, `x${long.password.slice(1)}`)).status).toBe(400);
  });
});

describe("housekeeping over wrangler dev --test-scheduled", () => {
  it("runs the Cron Trigger at /__scheduled, deletes dead rows and logs what it removed", async () => {
    const long = Date.now() - 40 * 24 * 3600_000;
    const family = crypto.randomUUID();
    d1(
      `INSERT INTO sessions (id, user_id, family_id, refresh_token_hash, created_at, last_used_at, expires_at)
       VALUES ('${family}', '${a10.id}', '${family}', '${crypto.randomUUID()}', ${long}, ${long}, ${long})`,
    );
    const server = running[0] as Running;
    const seen = server.log.length;
    const res = await request(`${base}/__scheduled?cron=${encodeURIComponent("23 * * * *")}`);
    expect(res.status).toBe(200);
    expect(d1(`SELECT id FROM sessions WHERE family_id = '${family}'`)).toEqual([]);
    // The imported users' live sessions from the logins above stay.
    expect(d1(`SELECT count(*) AS n FROM sessions WHERE user_id = '${a10.id}'`)[0]?.n).toBeGreaterThan(0);
    await expect
      .poll(() => server.log.slice(seen).join(""), { timeout: 10_000 })
      .toMatch(/"event":"housekeeping".*"sessions":1[,}]/);
  });
});
