// `npm run hostile -- --base URL [--token-key KEY] [--allowlist-origin ORIGIN] [--reuse-interval S] [--only GROUPS]`
// Runs the hostile black-box cases (test/blackbox/, one vitest test per case) against a
// running server (`npm run dev`, or a deployment): each flag becomes the environment
// variable the project reads, and vitest prints one line per case.
//
// --base URL               BLACKBOX_BASE_URL (default: $BASE_URL when set, else http://127.0.0.1:8787)
// --token-key KEY          BLACKBOX_TOKEN_KEY: the server's TOKEN_KEY; without it the cases
//                          that need a validly signed token are skipped
// --allowlist-origin URL   BLACKBOX_ALLOWLIST_ORIGIN: the server runs with CORS_ORIGINS=URL;
//                          without it, CORS "*" is expected
// --reuse-interval SECONDS BLACKBOX_REUSE_INTERVAL: the server's REFRESH_REUSE_INTERVAL, when
//                          short; without it the case that waits it out is skipped
// --only json,tokens,...   run only these groups (files of test/blackbox/)
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const GROUPS = readdirSync(new URL("../test/blackbox/", import.meta.url))
  .filter((file) => file.endsWith(".test.ts"))
  .map((file) => file.slice(0, -".test.ts".length));
const USAGE =
  "usage: npm run hostile -- --base URL [--token-key KEY] [--allowlist-origin URL] [--reuse-interval S] [--only GROUPS]";
const VARIABLES = {
  "--base": "BLACKBOX_BASE_URL",
  "--token-key": "BLACKBOX_TOKEN_KEY",
  "--allowlist-origin": "BLACKBOX_ALLOWLIST_ORIGIN",
  "--reuse-interval": "BLACKBOX_REUSE_INTERVAL",
};

function parseArgs(argv) {
  // `BASE_URL=https://auth.example.com npm run hostile` works too: this script is not Vite,
  // so BASE_URL here is the caller's (vitest itself sets BASE_URL to "/").
  const env = { BLACKBOX_BASE_URL: process.env.BASE_URL || "http://127.0.0.1:8787" };
  let only = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    if (flag === "--help" || flag === "-h") return { help: true };
    const value = inline ?? argv[++i];
    if (value === undefined || (flag !== "--only" && !VARIABLES[flag]))
      throw new Error(`unknown or incomplete option ${argv[i] ?? flag}`);
    if (flag === "--only") only = value.split(",").map((group) => group.trim());
    else env[VARIABLES[flag]] = value;
  }
  const unknown = only.filter((group) => !GROUPS.includes(group));
  if (unknown.length > 0) throw new Error(`unknown group ${unknown.join(", ")}; groups: ${GROUPS.join(", ")}`);
  return { env, files: only.map((group) => `test/blackbox/${group}.test.ts`) };
}

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  console.log(`groups: ${GROUPS.join(", ")}`);
  process.exit(0);
}
const run = spawnSync(
  process.execPath,
  [vitest, "run", "--config", "vitest.blackbox.config.ts", "--reporter=verbose", ...options.files],
  { cwd: root, stdio: "inherit", env: { ...process.env, ...options.env } },
);
process.exit(run.status ?? 1);
