// Which secrets a deployment needs, which of them Cloudflare has, and fresh values for
// the missing ones. "Needs" is decided by the worker's own configuration check
// (src/platform/config.ts readConfig), not by a second list: run with wrangler.toml's [vars] and no
// secret at all, every secret a problem names is required. So TOKEN_KEY or JWT_PRIVATE_KEYS
// follow JWT_ALG, SMTP_URL follows MAIL_TRANSPORT=smtp, and a future feature's secret joins
// the day readConfig asks for it. Used by scripts/deploy.mjs and `config-check.mjs --deploy`.
import { randomBytes } from "node:crypto";
import { tsImport } from "tsx/esm/api";
import { privateJwk } from "./keys-generate.mjs";
import { failureOf, jsonOf, wrangler } from "./wrangler-cli.mjs";

/**
 * @typedef {{ name: string; generate: (() => string) | undefined }} NeededSecret
 *   `generate` makes a fresh value; undefined when only a person can supply it (SMTP_URL).
 */

/**
 * What a deployment with these `[vars]` needs beyond them: `varProblems`, every problem
 * that names no secret (fix wrangler.toml), and `secrets`, the secrets the worker refuses
 * to run without.
 * @param {Record<string, unknown>} vars
 * @returns {Promise<{ varProblems: string[]; secrets: NeededSecret[] }>}
 */
export async function deploymentNeeds(vars) {
  const { readConfig, ConfigError } = await tsImport("../src/platform/config.ts", import.meta.url);
  const { SETTINGS } = await tsImport("../src/platform/settings.ts", import.meta.url);
  const secrets = SETTINGS.filter((setting) => setting.kind === "secret");
  const env = { ...vars };
  const varProblems = [];
  for (const { name } of secrets) {
    if (name in env) varProblems.push(`${name} is in wrangler.toml [vars]: secrets never go there (remove it)`);
    delete env[name];
  }
  let problems = [];
  try {
    readConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = [...err.problems];
  }
  const names = (problem) => secrets.filter(({ name }) => new RegExp(`\\b${name}\\b`).test(problem));
  return {
    varProblems: [...varProblems, ...problems.filter((problem) => names(problem).length === 0)],
    secrets: secrets
      .filter((setting) => problems.some((problem) => names(problem).includes(setting)))
      .map((setting) => ({ name: setting.name, generate: generatorOf(setting, vars) })),
  };
}

/** How a fresh value of `setting` is made: its `generate` kind in src/platform/settings.ts, or for
 * JWT_PRIVATE_KEYS (which has none there) one new key of JWT_ALG, as keys:generate makes it. */
function generatorOf(setting, vars) {
  if (setting.generate === "hex32") return () => randomBytes(32).toString("hex");
  if (setting.name === "JWT_PRIVATE_KEYS") return () => JSON.stringify([privateJwk(String(vars.JWT_ALG))]);
  return undefined;
}

/**
 * The names of the secrets the worker has in Cloudflare (`wrangler secret list`):
 * `{ names }`, with no names when the worker does not exist yet; `{ error }` when they
 * could not be listed (not logged in, no network, another account...).
 * @param {string[]} [wranglerArgs] extra arguments such as `--env NAME`
 * @returns {Promise<{ names: Set<string> } | { error: string }>}
 */
export async function secretsInCloudflare(wranglerArgs = []) {
  const run = await wrangler(["secret", "list", "--format", "json", ...wranglerArgs]);
  if (run.status !== 0) {
    const error = failureOf(run);
    // wrangler's answer for a worker never deployed (src/secret/index.ts, secret list).
    if (/^Worker "[^"]*"( \(env: [^)]*\))? not found\./.test(error)) return { names: new Set() };
    return { error };
  }
  try {
    const listed = jsonOf(run);
    if (!Array.isArray(listed)) throw new Error("not an array");
    return { names: new Set(listed.map((secret) => secret.name)) };
  } catch {
    return { error: `wrangler secret list printed no JSON array: ${run.stdout.trim().slice(0, 200)}` };
  }
}

/**
 * `config-check.mjs --deploy`: every problem with wrangler.toml's [vars], and every secret
 * the worker needs that Cloudflare lacks. Fails closed: when the secrets cannot be listed,
 * that is a problem too, unless `skipSecrets`.
 * @param {Record<string, unknown>} vars
 * @param {{ wranglerArgs?: string[]; skipSecrets?: boolean }} [options]
 * @returns {Promise<{ problems: string[]; secrets: string[] }>}
 */
export async function deployProblems(vars, { wranglerArgs = [], skipSecrets = false } = {}) {
  const needs = await deploymentNeeds(vars);
  const problems = [...needs.varProblems];
  const secrets = needs.secrets.map((secret) => secret.name);
  if (skipSecrets) return { problems, secrets };
  const listed = await secretsInCloudflare(wranglerArgs);
  if ("error" in listed) {
    problems.push(
      `the worker's secrets could not be listed, so ${secrets.join(", ")} may be missing (wrangler secret list: ${listed.error}). Log in with \`npx wrangler login\`, or pass --skip-secrets to check [vars] only`,
    );
    return { problems, secrets };
  }
  for (const secret of needs.secrets) {
    if (listed.names.has(secret.name)) continue;
    problems.push(
      secret.generate
        ? `${secret.name} is not set in Cloudflare: \`npm run deploy\` generates and uploads it`
        : `${secret.name} is not set in Cloudflare: \`npx wrangler secret put ${secret.name}\` (it cannot be generated)`,
    );
  }
  return { problems, secrets };
}
