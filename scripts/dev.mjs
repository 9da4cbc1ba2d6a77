// `npm run dev -- <wrangler dev flags>`: makes sure .dev.vars holds every secret (a fresh
// random TOKEN_KEY when it is missing or empty), checks the whole configuration and the
// port, copies Swagger UI for /docs, applies the D1 migrations to the local database, then
// runs `wrangler dev` with every flag passed through (--port, --ip, --var KEY:VALUE,
// --persist-to, ...). A bad setting or a busy port stops it before wrangler starts.
// `--skip-config-check` (not passed on) starts wrangler even with a bad configuration,
// for tests of the worker's own 500 server_misconfigured answer.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { configProblems, readDevVars, readWranglerConfig, reportProblems } from "./config-check.mjs";
import { fillDevVars } from "./dev-vars.mjs";
import { copyDocsAssets } from "./docs-assets.mjs";
import { canListen } from "./ports.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const skipCheck = process.argv.includes("--skip-config-check");
const args = process.argv.slice(2).filter((arg) => arg !== "--skip-config-check");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

const devVars = fileURLToPath(new URL("../.dev.vars", import.meta.url));
const filled = await fillDevVars(devVars);
if (filled) console.log(filled);

const wranglerConfig = await readWranglerConfig({
  config: flagValue(args, ["--config", "-c"]),
  env: flagValue(args, ["--env", "-e"]),
});
if (!skipCheck) {
  const bindings = { ...wranglerConfig.vars, ...readDevVars(devVars), ...cliVars(args) };
  const problems = await configProblems(bindings);
  if (problems.length > 0) {
    reportProblems(
      "npm run dev",
      problems,
      "Fix them in wrangler.toml [vars], .dev.vars or your --var flags; wrangler dev was not started.",
    );
    process.exit(1);
  }
}

// wrangler dev would quietly take the next free port (and share this checkout's local D1).
const port = Number(flagValue(args, ["--port"]) ?? wranglerConfig.dev.port ?? 8787);
const ip = flagValue(args, ["--ip"]) ?? wranglerConfig.dev.ip ?? "localhost";
if (!(await canListen(port, ip))) {
  console.error(`
npm run dev: port ${port} on ${ip} is already in use (another \`npm run dev\` or \`npm run demo\`?).
Stop that server, or choose another port:  npm run dev -- --port ${port + 1}
Two servers started from one checkout share its local D1 (.wrangler/); add --persist-to DIR to give one its own.
`);
  process.exit(1);
}

copyDocsAssets();

// The migration step must look at the same local database as `wrangler dev`.
const shared = sharedFlags(args, ["--persist-to", "--config", "-c", "--env", "-e"]);
const migrate = spawnSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", ...shared], {
  cwd: root,
  env,
  // No terminal on stdin: wrangler applies local migrations without asking.
  stdio: ["ignore", "inherit", "inherit"],
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn(process.execPath, [wrangler, "dev", ...args], { cwd: root, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

/** The value of the first of `names` in `argv` (`--flag value` or `--flag=value`). */
function flagValue(argv, names) {
  for (let i = 0; i < argv.length; i++) {
    const [flag, ...rest] = argv[i].split("=");
    if (!names.includes(flag)) continue;
    return rest.length > 0 ? rest.join("=") : argv[i + 1];
  }
  return undefined;
}

/** `--var KEY:VALUE` flags (repeatable, several values after one flag allowed), as wrangler reads them. */
function cliVars(argv) {
  const vars = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== "--var" && !argv[i].startsWith("--var=")) continue;
    const values = [];
    if (argv[i].startsWith("--var=")) values.push(argv[i].slice(6));
    else while (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) values.push(argv[++i]);
    for (const pair of values) {
      const at = pair.indexOf(":");
      if (at > 0) vars[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return vars;
}

/** The flags (and their values) from `argv` that both wrangler commands understand. */
function sharedFlags(argv, names) {
  const picked = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag] = argv[i].split("=");
    if (!names.includes(flag)) continue;
    if (argv[i].includes("=")) picked.push(argv[i]);
    else if (i + 1 < argv.length) picked.push(argv[i], argv[++i]);
  }
  return picked;
}
