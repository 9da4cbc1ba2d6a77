// Fails when generated files are stale: the SQL migrations must match
// src/db/schema.ts, worker-configuration.d.ts must match wrangler.toml, and the
// common-password list must match its npm package.
// Regenerates both in place, then asks git whether anything changed.
import { execFileSync } from "node:child_process";

const run = (cmd, args) =>
  execFileSync(cmd, args, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });

run("npx", ["drizzle-kit", "generate"]);
run("npm", ["run", "-s", "cf-typegen"]);
run("node", ["scripts/build-common-passwords.mjs"]);

const stale = run("git", [
  "status",
  "--porcelain",
  "--",
  "migrations",
  "worker-configuration.d.ts",
  "src/auth/common-passwords.ts",
])
  .toString()
  .trim();
if (stale) {
  console.error(`Generated files are out of date (commit the regenerated versions):\n${stale}`);
  process.exit(1);
}
console.log("migrations and worker types match their sources");
