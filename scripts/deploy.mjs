// `npm run deploy [-- --dry-run] [--health-timeout SECONDS]`: from a fresh clone (after
// `npx wrangler login`) to a worker that answers, in an order that cannot half-succeed:
//   1. check wrangler.toml's [vars] with the worker's own check, and that you are logged in;
//   2. look (read-only) at what Cloudflare has: the D1 database, the worker's secrets; stop
//      here, having changed nothing, when a required secret cannot be generated (SMTP_URL);
//   3. D1: create the database when wrangler.toml has no id (or reuse the one of that name
//      an earlier run created) and write its id into wrangler.toml;
//   4. secrets: generate every missing required one (scripts/deploy-secrets.mjs), upload
//      them with `wrangler secret bulk` from stdin, list them again; stop if one is missing;
//   5. apply the remote D1 migrations; stop on a failure (nothing deployed);
//   6. `wrangler deploy`, then GET /health on the URL it reports must answer 200
//      {"status":"ok"}; then the URL and the next steps.
// Run again, it creates and uploads nothing that exists: a redeploy is migrations (none
// pending is a no-op), `wrangler deploy` and the health check. Secret values exist only in
// this process and on wrangler's stdin: never printed, never written to a file. Existing
// secrets are never replaced (a new MFA_ENCRYPTION_KEY would make every enrolled TOTP
// unreadable). `--dry-run` does step 1 and 2 and prints the plan.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { reportProblems } from "./config-check.mjs";
import { deploymentNeeds, secretsInCloudflare } from "./deploy-secrets.mjs";
import { copyDocsAssets } from "./docs-assets.mjs";
import { failureOf, jsonOf, wrangler } from "./wrangler-cli.mjs";

/** `database_id` of wrangler.toml before a database exists. */
const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";
const BINDING = "DB";
const USAGE = "usage: npm run deploy [-- --dry-run] [--health-timeout SECONDS]";

/** Stops the deploy with `message` (after what was printed so far). */
class Stop extends Error {}

/** wrangler.toml as wrangler reads it: the worker's name, its [vars] and the D1 binding DB. */
export async function readProject(configPath) {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  const db = (config.d1_databases ?? []).find((entry) => entry.binding === BINDING);
  return { name: config.name, vars: config.vars ?? {}, db };
}

/**
 * wrangler.toml's text with `id` as the `database_id` of the [[d1_databases]] table whose
 * binding is `binding` (added after its `database_name` when it has none). Only that line
 * changes: comments and layout stay as they are.
 */
export function withDatabaseId(text, binding, id) {
  const lines = text.split("\n");
  for (let start = 0; start < lines.length; start++) {
    if (!/^\s*\[\[\s*d1_databases\s*\]\]\s*(#.*)?$/.test(lines[start])) continue;
    let end = start + 1;
    while (end < lines.length && !/^\s*\[/.test(lines[end])) end++;
    const table = lines.slice(start + 1, end);
    if (!table.some((line) => new RegExp(`^\\s*binding\\s*=\\s*["']${binding}["']`).test(line))) continue;
    const line = `database_id = "${id}"`;
    const at = table.findIndex((entry) => /^\s*database_id\s*=/.test(entry));
    if (at >= 0) {
      lines[start + 1 + at] = line;
    } else {
      // After database_name (or first in the table when even that is missing).
      const name = table.findIndex((entry) => /^\s*database_name\s*=/.test(entry));
      lines.splice(start + 2 + name, 0, line);
    }
    return lines.join("\n");
  }
  throw new Stop(`wrangler.toml has no [[d1_databases]] table with binding = "${binding}"`);
}

/** The URL to call after a deploy, from the targets wrangler's `deploy` output entry lists:
 * its workers.dev URL (the only targets with a scheme), else a custom domain, else `fallback`. */
export function deployedUrl(targets, fallback) {
  const url = targets.find((target) => /^https?:\/\/\S+$/.test(target));
  if (url) return url.replace(/\/+$/, "");
  const domain = targets.map((target) => /^([^\s/*]+) \(custom domain/.exec(target)?.[1]).find(Boolean);
  if (domain) return `https://${domain}`;
  return fallback ? String(fallback).replace(/\/+$/, "") : undefined;
}

/** GET `${base}/health` until it answers 200 {"status":"ok"} or `timeoutMs` pass (a new
 * workers.dev name can take a moment to resolve); resolves to the last answer's summary. */
async function checkHealth(base, timeoutMs) {
  const url = `${base}/health`;
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const res = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (res.status === 200 && body?.status === "ok") return { ok: true, url, answer: text.trim() };
      last = body?.error?.code
        ? `${res.status} ${body.error.code} ("${body.error.message}")`
        : `${res.status} ${text.trim().slice(0, 120) || "with an empty body"}`;
    } catch (err) {
      last = `no answer (${err.cause?.code ?? err.cause?.message ?? err.message})`;
    }
    if (Date.now() >= deadline) return { ok: false, url, answer: last };
    await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, Math.max(deadline - Date.now(), 0))));
  }
}

/** What to look at when /health did not answer 200, by what it answered. */
function healthAdvice(answer) {
  if (answer.includes("server_misconfigured")) {
    return "The worker runs but refuses every request: a setting is invalid or a table is missing. `npx wrangler tail`, then request /health again: its log line names every problem.";
  }
  if (answer.includes("service_unavailable")) {
    return "The worker cannot reach D1. Check the database with `npx wrangler d1 info DB`, and the worker's log with `npx wrangler tail`.";
  }
  if (answer.startsWith("no answer")) {
    return "A first deploy's workers.dev name can take a few minutes to resolve: try the URL again shortly. Otherwise `npx wrangler tail` shows what the worker does.";
  }
  return "`npx wrangler tail` shows the worker's log while you request /health again.";
}

function step(text) {
  console.log(`\n==> ${text}`);
}

/** Runs wrangler and stops the deploy with `what` and wrangler's reason when it fails. */
async function must(args, what, options) {
  const run = await wrangler(args, options);
  if (run.status !== 0) throw new Stop(`${what}: ${failureOf(run)}`);
  return run;
}

async function main(args) {
  const dryRun = args.includes("--dry-run");
  const at = args.indexOf("--health-timeout");
  const healthSeconds = at === -1 ? 60 : Number(args[at + 1]);
  const known = new Set(["--dry-run", "--health-timeout", ...(at === -1 ? [] : [args[at + 1]])]);
  if (args.some((arg) => !known.has(arg)) || !(healthSeconds >= 0)) {
    console.error(USAGE);
    return 2;
  }
  const configPath = join(process.cwd(), "wrangler.toml");
  if (!existsSync(configPath)) throw new Stop(`no wrangler.toml in ${process.cwd()}: run it from the project`);

  step("Checking wrangler.toml");
  const project = await readProject(configPath);
  const needs = await deploymentNeeds(project.vars);
  if (needs.varProblems.length > 0) {
    reportProblems("npm run deploy", needs.varProblems, "Fix them in wrangler.toml [vars]; nothing was changed.");
    return 1;
  }
  if (!project.db) throw new Stop(`wrangler.toml has no [[d1_databases]] entry with binding = "${BINDING}"`);
  const required = needs.secrets.map((secret) => secret.name);
  console.log(`[vars] are valid; the worker needs the secrets ${required.join(", ")}`);

  const who = await wrangler(["whoami", "--json"]);
  let account;
  try {
    account = jsonOf(who);
  } catch {
    account = undefined;
  }
  if (account?.loggedIn === false) {
    throw new Stop("not logged in to Cloudflare (wrangler whoami): run `npx wrangler login` first");
  }
  if (who.status !== 0 || account?.loggedIn !== true) throw new Stop(`wrangler whoami failed: ${failureOf(who)}`);
  console.log(`Logged in to Cloudflare${account.email ? ` as ${account.email}` : ""}`);

  step("Looking at what Cloudflare has (nothing is changed yet)");
  const dbName = project.db.database_name;
  let databaseId = project.db.database_id && project.db.database_id !== PLACEHOLDER_ID ? project.db.database_id : "";
  let existing;
  if (databaseId) {
    console.log(`D1: wrangler.toml names the database "${dbName}" (${databaseId})`);
  } else {
    existing = await findDatabase(dbName);
    console.log(
      existing
        ? `D1: "${dbName}" exists (${existing.uuid}) but wrangler.toml has no id for it: its id will be written there`
        : `D1: no database "${dbName}" yet: it will be created and its id written into wrangler.toml`,
    );
  }
  const listed = await secretsInCloudflare();
  if ("error" in listed)
    throw new Stop(`the worker's secrets could not be listed (wrangler secret list): ${listed.error}`);
  const missing = needs.secrets.filter((secret) => !listed.names.has(secret.name));
  const manual = missing.filter((secret) => !secret.generate);
  if (manual.length > 0) {
    throw new Stop(
      manual
        .map(
          (secret) =>
            `${secret.name} is required by this configuration and cannot be generated: set it with \`npx wrangler secret put ${secret.name}\` (it asks for the value, or reads it from stdin), then run \`npm run deploy\` again. Nothing was changed.`,
        )
        .join("\n"),
    );
  }
  console.log(
    missing.length > 0
      ? `Secrets: ${missing.map((secret) => secret.name).join(", ")} missing: fresh random values will be generated and uploaded`
      : "Secrets: every required secret is set in Cloudflare",
  );
  if (dryRun) {
    console.log(
      "\n--dry-run: nothing was changed. A real run continues with: D1, secrets, remote migrations, deploy, /health.",
    );
    return 0;
  }

  step("D1 database");
  if (!databaseId) {
    if (!existing) {
      await must(["d1", "create", dbName], `creating the D1 database "${dbName}" failed`, { show: true });
      existing = await findDatabase(dbName);
      if (!existing) throw new Stop(`wrangler d1 create reported success but wrangler d1 list has no "${dbName}"`);
    }
    databaseId = existing.uuid;
    writeFileSync(configPath, withDatabaseId(readFileSync(configPath, "utf8"), BINDING, databaseId));
    if ((await readProject(configPath)).db?.database_id !== databaseId) {
      throw new Stop(`writing database_id into ${configPath} did not take: set database_id = "${databaseId}" there`);
    }
    console.log(`Wrote database_id = "${databaseId}" into wrangler.toml (commit it: it is not a secret)`);
  } else {
    console.log(`"${dbName}" (${databaseId}): nothing to do`);
  }

  step("Secrets");
  if (missing.length > 0) {
    const values = Object.fromEntries(missing.map((secret) => [secret.name, secret.generate()]));
    await must(["secret", "bulk"], "uploading the secrets failed", { input: JSON.stringify(values), show: true });
    const after = await secretsInCloudflare();
    if ("error" in after) throw new Stop(`the secrets could not be listed after the upload: ${after.error}`);
    const still = required.filter((name) => !after.names.has(name));
    if (still.length > 0) {
      throw new Stop(
        `${still.join(", ")} still missing in Cloudflare after the upload (wrangler secret list), so nothing was migrated or deployed. Run \`npm run deploy\` again, or set it with \`npx wrangler secret put NAME\`.`,
      );
    }
    console.log(`Uploaded ${missing.map((secret) => secret.name).join(", ")}; wrangler secret list shows all of them`);
  } else {
    console.log("Every required secret is set: nothing uploaded");
  }

  step("Remote migrations (wrangler d1 migrations apply DB --remote)");
  await must(
    ["d1", "migrations", "apply", BINDING, "--remote"],
    "a remote migration failed, so nothing was deployed (migrations applied before it stay applied; the worker runs its previous version, if any). Fix it and run `npm run deploy` again",
    { show: true },
  );

  step("Deploying (wrangler deploy)");
  copyDocsAssets();
  const deployed = await must(["deploy"], "wrangler deploy failed", { show: true });
  const entry = deployed.entries.findLast((item) => item.type === "deploy");
  const url = deployedUrl(Array.isArray(entry?.targets) ? entry.targets : [], project.vars.PUBLIC_URL);
  if (!url) {
    throw new Stop(
      "deployed, but wrangler reported no workers.dev URL or custom domain and PUBLIC_URL is empty, so /health could not be checked",
    );
  }

  step(`Health check (GET ${url}/health)`);
  const health = await checkHealth(url, healthSeconds * 1000);
  if (!health.ok) {
    throw new Stop(
      `the worker is deployed but GET ${health.url} answered ${health.answer}.\n${healthAdvice(health.answer)}\nTo go back to the previous version: \`npx wrangler rollback\`.`,
    );
  }
  console.log(`${health.url}: 200 ${health.answer}`);
  console.log(`\nDeployed: ${url}`);
  console.log(nextSteps(project.name, project.vars));
  return 0;
}

/** The database of that name in the account (`wrangler d1 list --json`), if any. */
async function findDatabase(name) {
  const run = await must(["d1", "list", "--json"], "wrangler d1 list failed");
  let list;
  try {
    list = jsonOf(run);
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list))
    throw new Stop(`wrangler d1 list --json printed no JSON array: ${run.stdout.slice(0, 200)}`);
  return list.find((db) => db.name === name);
}

function nextSteps(name, vars) {
  const cors = vars.CORS_ORIGINS === "*" ? ' (now "*": any site may call it)' : "";
  return `
Next steps (edit wrangler.toml, then \`npm run deploy\` again):
  - Custom domain: routes = [{ pattern = "auth.example.com", custom_domain = true }] (the zone must be
    on this Cloudflare account), or the dashboard's Workers > ${name} > Settings > Domains.
  - CORS_ORIGINS: the exact origins of your web apps${cors}.
  - PUBLIC_URL: this API's public https URL (${vars.PUBLIC_URL ? `now ${vars.PUBLIC_URL}` : "now empty"}); mail links are built
    from it, and MAIL_TRANSPORT needs it.
  - Passkeys: WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS for your domain (now ${vars.WEBAUTHN_RP_ID}).
  - Logs: \`npx wrangler tail\`.`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    console.error(`\nnpm run deploy stopped: ${err.message}`);
    process.exitCode = 1;
  }
}
