// The worker's own configuration check (src/platform/config.ts readConfig, and the key import of
// src/identity/keys.ts), run in Node before `wrangler dev` or a deploy starts, so every bad
// setting is listed at once instead of showing up as a 500 at the first request.
// As a command (`node scripts/config-check.mjs --deploy [--env NAME] [--config FILE] [--skip-secrets]`):
// checks wrangler.toml's [vars], and that the secrets the worker needs are set in Cloudflare.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import { tsImport } from "tsx/esm/api";

const root = fileURLToPath(new URL("..", import.meta.url));

/** `KEY=value` pairs of a .dev.vars file (dotenv syntax), or `{}` when it is missing. */
export function readDevVars(path) {
  return existsSync(path) ? parseEnv(readFileSync(path, "utf8")) : {};
}

/** The `[vars]` of wrangler.toml (for `env`, when given) and its `[dev]` section, as wrangler reads them. */
export async function readWranglerConfig({ config = "wrangler.toml", env } = {}) {
  const { unstable_readConfig } = await import("wrangler");
  const parsed = unstable_readConfig({ config: resolve(root, config), env }, { hideWarnings: true });
  return { vars: parsed.vars ?? {}, dev: parsed.dev ?? {} };
}

/**
 * Every problem the worker would report for these bindings, one sentence each.
 * `secrets: false` leaves out problems about secrets (for a deploy, whose secrets are
 * kept by Cloudflare): a placeholder key stands in for TOKEN_KEY.
 * @param {Record<string, unknown>} bindings
 * @param {{ secrets?: boolean }} [options]
 * @returns {Promise<string[]>}
 */
export async function configProblems(bindings, { secrets = true } = {}) {
  const { readConfig, ConfigError } = await tsImport("../src/platform/config.ts", import.meta.url);
  const { keyringOf } = await tsImport("../src/identity/keys.ts", import.meta.url);
  const { SETTINGS } = await tsImport("../src/platform/settings.ts", import.meta.url);
  // A problem about a secret starts with its name (a family's with any id in place of <ID>).
  const names = SETTINGS.filter((s) => s.kind === "secret").map((s) => s.name.replace("<ID>", "[A-Z0-9]+"));
  const aboutSecret = new RegExp(`^(${names.join("|")})`);
  const env = secrets ? bindings : { ...bindings, TOKEN_KEY: "placeholder-secret-".repeat(4) };
  try {
    const config = readConfig(env);
    if (secrets) await keyringOf(config);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return secrets ? [...err.problems] : err.problems.filter((problem) => !aboutSecret.test(problem));
  }
}

/** Prints `problems` for a person at a terminal. */
export function reportProblems(command, problems, fix) {
  console.error(`\n${command}: the configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}:`);
  for (const problem of problems) console.error(`  - ${problem}`);
  console.error(`${fix}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (...names) => {
    const at = args.findIndex((arg) => names.includes(arg));
    return at === -1 ? undefined : args[at + 1];
  };
  const { vars } = await readWranglerConfig({ config: value("--config", "-c"), env: value("--env", "-e") });
  // --deploy (scripts/deploy-secrets.mjs): [vars], and every secret the worker needs must be
  // set in Cloudflare (`wrangler secret list`; fails closed when it cannot be listed, unless
  // --skip-secrets). npm run deploy generates and uploads the missing ones.
  if (args.includes("--deploy")) {
    const { deployProblems } = await import("./deploy-secrets.mjs");
    const env = value("--env", "-e");
    const wranglerArgs = ["--config", resolve(root, value("--config", "-c") ?? "wrangler.toml")];
    if (env) wranglerArgs.push("--env", env);
    const skipSecrets = args.includes("--skip-secrets");
    const { problems, secrets } = await deployProblems(vars, { wranglerArgs, skipSecrets });
    if (problems.length > 0) {
      reportProblems(
        "config-check --deploy",
        problems,
        "Fix [vars] in wrangler.toml; `npm run deploy` generates and uploads the secrets it can.",
      );
      process.exit(1);
    }
    console.log(
      skipSecrets
        ? "configuration: every setting in wrangler.toml is valid (secrets not checked: --skip-secrets)"
        : `configuration: every setting in wrangler.toml is valid, and ${secrets.join(", ")} are set in Cloudflare`,
    );
    process.exit(0);
  }
  const problems = await configProblems(vars);
  if (problems.length > 0) {
    reportProblems("predeploy", problems, "Fix them in wrangler.toml [vars]; nothing was deployed.");
    process.exit(1);
  }
  console.log("configuration: every setting in wrangler.toml is valid");
}
