// Fails when generated files are stale: the SQL migrations must match
// src/platform/schema.ts, worker-configuration.d.ts must match wrangler.toml (the root's
// and examples/mcp-server's), the common-password list must match its npm package, and
// the generated tables of docs/ (errors, settings, single-use retirement), wrangler.toml's
// [vars] and .dev.vars.example must match their sources in src/
// (scripts/generate-docs.mjs --check).
// Regenerates both in place, then asks git whether anything changed.
import { execFileSync, spawnSync } from "node:child_process";

const run = (cmd, args) =>
  execFileSync(cmd, args, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });

// Compared in memory, before anything is regenerated: [vars] feeds the worker types.
const docs = spawnSync(process.execPath, ["scripts/generate-docs.mjs", "--check"], { stdio: "inherit" });
if (docs.status !== 0) process.exit(1);

run("npx", ["drizzle-kit", "generate"]);
run("npm", ["run", "-s", "cf-typegen"]);
run("npm", ["run", "-s", "cf-typegen", "-w", "examples/mcp-server"]);
run("node", ["scripts/build-common-passwords.mjs"]);

const stale = run("git", [
  "status",
  "--porcelain",
  "--",
  "migrations",
  "worker-configuration.d.ts",
  "examples/mcp-server/worker-configuration.d.ts",
  "src/platform/common-passwords.ts",
])
  .toString()
  .trim();
if (stale) {
  console.error(`Generated files are out of date (commit the regenerated versions):\n${stale}`);
  process.exit(1);
}
console.log("migrations, worker types, the password list and the generated docs match their sources");
