// A stand-in for the wrangler 4.86.0 CLI, for the deploy script's tests (Cloudflare's API
// is not reachable from them). It plays both wrangler and the Cloudflare account behind it:
// the account's databases, the worker, its secrets and its applied migrations live in a
// JSON state file (WRANGLER_STAND_IN_STATE), which the test seeds, scripts with faults and
// reads back. Every call is recorded there: argv, working directory, and for the commands
// that read secrets from stdin only each value's length and SHA-256, never the value.
//
// What the deploy script reads is reproduced exactly, from wrangler's own source
// (node_modules/wrangler/wrangler-dist/cli.js): the JSON of `whoami --json` (logger.json,
// 4 spaces; `{"loggedIn":false}` and status 1 when logged out), `d1 list --json` (the D1
// API's database objects, 2 spaces) and `secret list --format json` ([{ name, type }],
// 2 spaces); the ND-JSON entries appended to WRANGLER_OUTPUT_FILE_PATH (src/output.ts:
// `wrangler-session` first, `deploy` with `targets`, `command-failed` with the message);
// exit status 1 on every error, with the error on stderr in esbuild's "✘ [ERROR]" format.
// The prose around them (banner, tables, emoji lines) is close to wrangler's, not exact.
// `secret bulk` reads stdin the way wrangler does (lines joined, JSON else dotenv) and, like
// wrangler, exits 0 with "No content found" when there is nothing to read; both secret
// commands create a draft worker when there is none. `d1 migrations apply` and `deploy`
// refuse a database_id the account does not have, as the API does.
//
// Faults the test can set in `state.faults`: `migration` (that file fails with an SQL
// error, the ones before it stay applied), `dropSecret` (that name is silently not kept
// by an upload, so it is still missing afterwards).
import { createHash, randomUUID } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const VERSION = "4.86.0";
const statePath = process.env.WRANGLER_STAND_IN_STATE;
if (!statePath) {
  process.stderr.write("wrangler stand-in: WRANGLER_STAND_IN_STATE is not set\n");
  process.exit(2);
}
const state = JSON.parse(readFileSync(statePath, "utf8"));
const argv = process.argv.slice(2);
const outputFile = process.env.WRANGLER_OUTPUT_FILE_PATH;
const call = { argv, cwd: process.cwd() };
state.calls.push(call);

/** Appends one entry to the output file, as src/output.ts writeOutput does. */
function writeOutput(entry) {
  if (outputFile) appendFileSync(outputFile, `${JSON.stringify({ ...entry, timestamp: new Date().toISOString() })}\n`);
}

/** A UserError: its message on stderr in esbuild's format, a `command-failed` entry, status 1. */
class UserError extends Error {}

function save() {
  writeFileSync(statePath, JSON.stringify(state, null, 2), { mode: 0o600 });
}

function log(text = "") {
  process.stdout.write(`${text}\n`);
}

function banner() {
  const text = ` ⛅️ wrangler ${VERSION}`;
  log(`\n${text}\n${"─".repeat(text.length)}`);
}

function formatError(message) {
  const [first, ...notes] = message.split("\n");
  const rest = notes.length > 0 ? `\n${notes.map((note) => `  ${note}`).join("\n")}` : "";
  return `\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1m${first}\x1b[0m\n${rest}\n\n`;
}

function flag(name) {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
}

/** The parts of wrangler.toml the stand-in needs (a few regexes: it is the repo's own file). */
function readConfig() {
  const path = resolve(flag("--config") ?? join(process.cwd(), "wrangler.toml"));
  const text = readFileSync(path, "utf8");
  const value = (key, from = text) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m").exec(from)?.[1];
  const d1 = /\[\[d1_databases\]\]([\s\S]*?)(?=\n\s*\[|$)/.exec(text)?.[1] ?? "";
  const crons = /^\s*crons\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1];
  return {
    dir: dirname(path),
    name: value("name"),
    db: {
      binding: value("binding", d1),
      name: value("database_name", d1),
      id: value("database_id", d1),
      migrationsDir: value("migrations_dir", d1) ?? "migrations",
    },
    crons: crons ? [...crons.matchAll(/"([^"]*)"/g)].map((match) => match[1]) : [],
  };
}

function readStdin() {
  try {
    return readFileSync(0, "utf8");
  } catch {
    return "";
  }
}

/** What the record keeps of a secret value. */
function fingerprint(value) {
  return { length: value.length, sha256: createHash("sha256").update(value).digest("hex") };
}

function requireAuth() {
  if (!state.loggedIn) {
    throw new UserError(
      "In a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work. Please go to https://developers.cloudflare.com/fundamentals/api/get-started/create-token/ for instructions on how to create an api token, and assign its value to CLOUDFLARE_API_TOKEN.",
    );
  }
}

function confirmed(text) {
  log(`? ${text}`);
  log("🤖 Using fallback value in non-interactive context: yes");
}

/** The worker named in the config, created as a draft the way `secret put`/`bulk` do. */
function workerForSecrets(name) {
  if (!state.workers[name]) {
    confirmed(
      `There doesn't seem to be a Worker called "${name}". Do you want to create a new Worker with that name and add secrets to it?`,
    );
    log(`🌀 Creating new Worker "${name}"...`);
    state.workers[name] = { deployed: false, secrets: {} };
  }
  return state.workers[name];
}

/** The configured database, as the API sees it: unknown ids fail like the API does. */
function remoteDatabase(config) {
  const db = state.databases.find((candidate) => candidate.uuid === config.db.id);
  if (!db) {
    throw new UserError(
      `A request to the Cloudflare API (/accounts/${state.accountId}/d1/database/${config.db.id}) failed.\nThe database ${config.db.id} could not be found [code: 7404]`,
    );
  }
  return db;
}

function keepSecrets(worker, values) {
  call.secrets = {};
  for (const [name, value] of Object.entries(values)) {
    call.secrets[name] = fingerprint(value);
    if (state.faults?.dropSecret === name) continue;
    worker.secrets[name] = value;
  }
}

const commands = {
  whoami() {
    if (!argv.includes("--json")) throw new UserError("the stand-in answers `whoami --json` only");
    if (!state.loggedIn) {
      log();
      log(JSON.stringify({ loggedIn: false }));
      writeOutput({ type: "command-failed", version: 1, message: JSON.stringify({ loggedIn: false }) });
      return 1;
    }
    log(
      JSON.stringify(
        {
          loggedIn: true,
          authType: "OAuth Token",
          email: state.email,
          accounts: [{ name: state.accountName, id: state.accountId }],
          tokenPermissions: ["account:read", "workers_scripts:write", "d1:write"],
        },
        null,
        4,
      ),
    );
    return 0;
  },

  "d1 list"() {
    requireAuth();
    if (!argv.includes("--json")) throw new UserError("the stand-in answers `d1 list --json` only");
    log(JSON.stringify(state.databases, null, 2));
    return 0;
  },

  "d1 create"() {
    requireAuth();
    const name = argv[2];
    if (!name) throw new UserError("Not enough non-option arguments: got 0, need at least 1");
    if (state.databases.some((db) => db.name === name)) throw new UserError("A database with that name already exists");
    const db = {
      uuid: randomUUID(),
      name,
      created_at: new Date().toISOString(),
      version: "production",
      num_tables: 0,
      file_size: 0,
      jurisdiction: null,
    };
    state.databases.push(db);
    banner();
    log(`✅ Successfully created DB '${name}' in region WEUR`);
    log("Created your new D1 database.\n");
    log("To access your new D1 Database in your Worker, add the following snippet to your configuration file:");
    log(
      `[[d1_databases]]\nbinding = "${name.replace(/[\s-]/g, "_")}"\ndatabase_name = "${name}"\ndatabase_id = "${db.uuid}"\n`,
    );
    return 0;
  },

  "d1 migrations"() {
    requireAuth();
    if (argv[2] !== "apply" || !argv.includes("--remote")) {
      throw new UserError("the stand-in answers `d1 migrations apply <DB> --remote` only");
    }
    const config = readConfig();
    if (argv[3] !== config.db.binding && argv[3] !== config.db.name) {
      throw new UserError(`Couldn't find a D1 DB with the name or binding '${argv[3]}' in your wrangler.toml file.`);
    }
    banner();
    log("Resource location: remote \n");
    const db = remoteDatabase(config);
    state.applied[db.uuid] ??= [];
    const applied = state.applied[db.uuid];
    const dir = join(config.dir, config.db.migrationsDir);
    const pending = readdirSync(dir)
      .filter((file) => file.endsWith(".sql") && !applied.includes(file))
      .sort();
    if (pending.length === 0) {
      log("✅ No migrations to apply!");
      return 0;
    }
    log("Migrations to be applied:");
    for (const name of pending) log(`│ ${name} │`);
    confirmed(
      `About to apply ${pending.length} migration(s)\nYour database may not be available to serve requests during the migration, continue?`,
    );
    for (const name of pending) {
      log(`🌀 Executing on remote database ${argv[3]} (${db.uuid}):`);
      if (state.faults?.migration === name) {
        log(`│ ${name} │ ❌ │`);
        process.stderr.write(formatError(`Migration ${name} failed with the following errors:`));
        throw new UserError('near "CREAT": syntax error at offset 0: SQLITE_ERROR [code: 7500]');
      }
      applied.push(name);
      log(`│ ${name} │ ✅ │`);
    }
    return 0;
  },

  "secret list"() {
    requireAuth();
    const format = flag("--format") ?? "json";
    const { name } = readConfig();
    const worker = state.workers[name];
    if (!worker) {
      throw new UserError(
        `Worker "${name}" not found.\n\nIf this is a new Worker, run \`wrangler deploy\` first to create it.\nOtherwise, check that the Worker name is correct and you're logged into the right account.`,
      );
    }
    const secrets = Object.keys(worker.secrets).map((secret) => ({ name: secret, type: "secret_text" }));
    if (format === "pretty") {
      banner();
      for (const secret of secrets) log(`Secret Name: ${secret.name}\n`);
    } else {
      log(JSON.stringify(secrets, null, "  "));
    }
    return 0;
  },

  "secret bulk"() {
    requireAuth();
    banner();
    const { name } = readConfig();
    log(`🌀 Creating the secrets for the Worker "${name}" `);
    const file = argv[2] && !argv[2].startsWith("-") ? argv[2] : undefined;
    const input = file ? readFileSync(resolve(file), "utf8") : readStdin().split("\n").join("");
    if (!file) call.stdin = { bytes: Buffer.byteLength(input) };
    let content;
    try {
      content = JSON.parse(input);
    } catch {
      content = Object.fromEntries(
        [...input.matchAll(/^\s*([\w.-]+)\s*=\s*(.*)$/gm)].map((match) => [match[1], match[2] ?? ""]),
      );
    }
    if (content === null || typeof content !== "object" || Object.keys(content).length === 0) {
      process.stderr.write(formatError("🚨 No content found in file, or piped input."));
      return 0;
    }
    const worker = workerForSecrets(name);
    keepSecrets(worker, content);
    for (const key of Object.keys(content)) log(`✨ Successfully created secret for key: ${key}`);
    log("\nFinished processing secrets file:");
    log(`✨ ${Object.keys(content).length} secrets successfully uploaded`);
    return 0;
  },

  "secret put"() {
    requireAuth();
    const key = argv[2];
    if (!key) throw new UserError("Not enough non-option arguments: got 0, need at least 1");
    banner();
    const { name } = readConfig();
    const value = readStdin().replace(/\s+$/, "");
    call.stdin = { bytes: Buffer.byteLength(value) };
    log(`🌀 Creating the secret for the Worker "${name}" `);
    keepSecrets(workerForSecrets(name), { [key]: value });
    log(`✨ Success! Uploaded secret ${key}`);
    return 0;
  },

  deploy() {
    requireAuth();
    const config = readConfig();
    banner();
    if (config.db.id) remoteDatabase(config);
    const versionId = randomUUID();
    const host = `${config.name}.${state.subdomain}.workers.dev`;
    const targets = [state.workersDevUrl ?? `https://${host}`, ...config.crons.map((cron) => `schedule: ${cron}`)];
    log("Total Upload: 1024.00 KiB / gzip: 256.00 KiB");
    log("Your Worker has access to the following bindings:");
    log(`env.DB (${config.db.name})      D1 Database`);
    log(`Uploaded ${config.name} (1.00 sec)`);
    log(`Deployed ${config.name} triggers (0.50 sec)`);
    for (const target of targets) log(`  ${target}`);
    log(`Current Version ID: ${versionId}`);
    state.workers[config.name] ??= { deployed: false, secrets: {} };
    state.workers[config.name].deployed = true;
    state.workers[config.name].versionId = versionId;
    writeOutput({
      type: "deploy",
      version: 1,
      worker_name: config.name,
      worker_tag: "0123456789abcdef0123456789abcdef",
      version_id: versionId,
      targets,
      worker_name_overridden: false,
    });
    return 0;
  },
};

writeOutput({
  type: "wrangler-session",
  version: 1,
  wrangler_version: VERSION,
  command_line_args: argv,
  log_file_path: "/dev/null",
});
const command = commands[argv.slice(0, 2).join(" ")] ?? commands[argv[0]];
let status;
try {
  if (!command || !existsSync(statePath)) throw new UserError(`Unknown arguments: ${argv.join(", ")}`);
  status = command();
} catch (err) {
  if (!(err instanceof UserError)) throw err;
  log();
  process.stderr.write(formatError(err.message));
  writeOutput({ type: "command-failed", version: 1, message: err.message });
  status = 1;
}
save();
process.exit(status);
