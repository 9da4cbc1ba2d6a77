// `npm run bench:import [-- --users N]`: times `npm run import:users` on a generated
// `mongoexport` file (N users, default 100,000; canonical and relaxed lines mixed) into
// a fresh local D1, writes bench/import.json and renders BENCHMARKS.md again.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import bcrypt from "bcryptjs";
import { EJSON, ObjectId } from "bson";
import { MAX_FILE_ROWS } from "../scripts/import-users.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { users: { type: "string", default: "100000" } } });
const users = Number(values.users);
if (!Number.isInteger(users) || users < 1) throw new Error("--users must be a positive integer");

const dir = mkdtempSync(join(tmpdir(), "bench-import-"));
try {
  // One real hash for everyone: hashing is not what is measured.
  const hash = bcrypt.hashSync("an old tutorial password", 10);
  const created = Date.parse("2021-01-01T00:00:00Z");
  const lines = [];
  for (let i = 0; i < users; i++) {
    const doc = {
      _id: new ObjectId(),
      first_name: "Bench",
      last_name: `User ${i}`,
      email: `Bench.User${i}@Example.com`,
      password: hash,
      token: "an-old-jwt",
      createdAt: new Date(created + i * 1000),
    };
    lines.push(EJSON.stringify(doc, { relaxed: i % 2 === 0 }));
  }
  const file = join(dir, "users.json");
  writeFileSync(file, `${lines.join("\n")}\n`);

  const loadAverage = loadavg()[0];
  const started = performance.now();
  const out = execFileSync(
    process.execPath,
    [join(root, "scripts/import-users.mjs"), file, "--local", "--persist-to", join(dir, "d1")],
    { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  const seconds = (performance.now() - started) / 1000;
  if (!out.includes(`Imported ${users.toLocaleString("en-US")} of`)) throw new Error(`import failed:\n${out}`);
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  const run = {
    users,
    seconds,
    // One file per MAX_FILE_ROWS rows, plus the migrations and the existing-users query.
    wranglerRuns: Math.ceil(users / MAX_FILE_ROWS) + 2,
    rowsPerFile: MAX_FILE_ROWS,
    loadAverage,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit,
  };
  writeFileSync(join(root, "bench/import.json"), `${JSON.stringify(run, null, 2)}\n`);
  console.log(`bench:import: ${users} users in ${seconds.toFixed(1)} s`);
  spawnSync(process.execPath, [join(root, "bench/run.mjs"), "--render"], { cwd: root, stdio: "inherit" });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
