// `npm run import:users -- <file> [--local|--remote] [--persist-to DIR] [--dry-run]
//   [--name-placeholder TEXT]`: brings the `users` collection of the Express + MongoDB
// tutorial app (a `mongoexport` file, one document per line or `--jsonArray`, Extended
// JSON v2 relaxed or canonical) into D1 through `wrangler d1 execute --file`.
// Ids are kept (24-hex ObjectId strings), emails normalized like /register, bcrypt
// hashes kept as they are (marked password_imported): imported users log in with their
// old passwords, and a hash at another cost than BCRYPT_COST is upgraded at their first
// login; hashes above BCRYPT_COST are counted in a warning (they slow failing logins). Invalid rows are reported by line
// and skipped; the rest is imported. Re-running the same file imports nothing twice.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EJSON, ObjectId } from "bson";
import cliProgress from "cli-progress";
import { register } from "tsx/esm/api";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const USAGE =
  "usage: npm run import:users -- <file> [--local|--remote] [--persist-to DIR] [--dry-run] [--name-placeholder TEXT]";

/** Highest bcrypt cost accepted: every step doubles the CPU of each login, and cost 15
 * (about 1.5 s of CPU) would exceed the Workers CPU budget at every login. */
export const MAX_IMPORT_COST = 14;
// D1 refuses a statement over 100,000 bytes (SQLITE_TOOBIG). The rows go in as SQL
// literals, so the 100-bound-parameter limit does not apply; the size limit does.
const MAX_STATEMENT_BYTES = 90_000;
// One `wrangler d1 execute` per file: few enough to keep the startup cost small, small
// enough that the progress bar moves.
export const MAX_FILE_ROWS = 50_000;

const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const PLAIN_ID = /^[A-Za-z0-9_-]{1,64}$/;
// The API's own field rules (src/platform/fields.ts, through tsx): an imported email or name is
// valid exactly when /register would take it.
register();
const { name: nameRule, newEmail } = await import("../src/platform/fields.ts");
const emailRule = newEmail();

/**
 * Splits `text` into documents with the line each starts on. One document per line
 * (mongoexport's default) unless the first character is `[` (`--jsonArray`): then the
 * array is parsed whole and each element's line found by a scan of the brackets.
 * @returns {{ line: number, doc?: unknown, error?: string }[]}
 */
export function readExport(text) {
  const body = text.replace(/^\uFEFF/, "");
  if (body.trimStart().startsWith("[")) {
    let docs;
    try {
      docs = EJSON.parse(body, { relaxed: true });
    } catch (err) {
      return [{ line: 1, error: `not a valid Extended JSON array (${err.message})` }];
    }
    const lines = elementLines(body);
    return docs.map((doc, i) => ({ line: lines[i] ?? 1, doc }));
  }
  const rows = [];
  body.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    try {
      rows.push({ line: i + 1, doc: EJSON.parse(raw, { relaxed: true }) });
    } catch (err) {
      rows.push({ line: i + 1, error: `not valid Extended JSON (${err.message})` });
    }
  });
  return rows;
}

/** The line on which each top-level element of a JSON array starts. Only brackets
 * and strings are tracked: values are left to EJSON. */
function elementLines(text) {
  const lines = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") line++;
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      if (depth === 1) lines.push(line);
    } else if (ch === "{" || ch === "[") {
      if (depth === 1) lines.push(line);
      depth++;
    } else if (ch === "}" || ch === "]") depth--;
    else if (depth === 1 && /[^\s,]/.test(ch)) {
      lines.push(line);
      // skip the rest of a bare value (number, true, null...)
      while (i + 1 < text.length && /[^\s,\]]/.test(text[i + 1])) i++;
    }
  }
  return lines;
}

function timeOf(value) {
  const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : value;
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? Math.trunc(ms) : undefined;
}

/**
 * Turns one exported document into a users row, or the reason it cannot be one.
 * @param {unknown} doc
 * @param {{ namePlaceholder?: string, now: number }} options
 * @returns {{ row: Record<string, string | number> } | { reason: string }}
 */
export function toUser(doc, { namePlaceholder, now }) {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { reason: "not a document" };
  const { _id, email, first_name, last_name, password, createdAt, updatedAt } = doc;
  let id;
  if (_id instanceof ObjectId) id = _id.toHexString();
  else if (typeof _id === "string" && PLAIN_ID.test(_id)) id = _id;
  else return { reason: _id === undefined ? "no _id" : "_id is neither an ObjectId nor a plain string" };

  if (email === undefined || email === null || (typeof email === "string" && email.trim() === "")) {
    return { reason: "no email" };
  }
  const checked = typeof email === "string" ? emailRule.safeParse(email) : undefined;
  if (!checked?.success) return { reason: "invalid email" };

  const names = {};
  for (const field of ["first_name", "last_name"]) {
    const value = field === "first_name" ? first_name : last_name;
    const missing = value === undefined || value === null || (typeof value === "string" && value.trim() === "");
    if (missing && namePlaceholder === undefined) return { reason: `no ${field}` };
    const result = nameRule(field).safeParse(missing ? namePlaceholder : value);
    if (!result.success) return { reason: `invalid ${field}` };
    names[field] = result.data;
  }

  if (typeof password !== "string" || !BCRYPT.test(password)) return { reason: "password is not a bcrypt hash" };
  const cost = Number(password.slice(4, 6));
  if (cost < 4 || cost > 31) return { reason: "password is not a bcrypt hash" };
  if (cost > MAX_IMPORT_COST) {
    return { reason: `bcrypt cost above ${MAX_IMPORT_COST} (every login would exceed the Workers CPU budget)` };
  }
  const created = timeOf(createdAt) ?? now;
  return {
    row: {
      id,
      email: checked.data,
      first_name: names.first_name,
      last_name: names.last_name,
      password_hash: password,
      // The API checks these hashes as the tutorial's bcryptjs made them (the first 72
      // bytes of a longer password) until the user sets a new password.
      password_imported: 1,
      created_at: created,
      updated_at: timeOf(updatedAt) ?? created,
    },
  };
}

const COLUMNS = [
  "id",
  "email",
  "first_name",
  "last_name",
  "password_hash",
  "password_imported",
  "created_at",
  "updated_at",
];
const literal = (value) => (typeof value === "number" ? String(value) : `'${value.replaceAll("'", "''")}'`);
const utf8 = new TextEncoder();

/** SQL files of `INSERT ... ON CONFLICT DO NOTHING` statements, each under D1's
 * statement size limit; the conflict clause makes a re-run or a racing import harmless.
 * @returns {{ sql: string, rows: number }[]} */
export function sqlFiles(rows) {
  const head = `INSERT INTO users (${COLUMNS.join(", ")}) VALUES\n`;
  const tail = "\nON CONFLICT DO NOTHING;\n";
  const files = [];
  let statements = [];
  let values = [];
  let bytes = 0;
  let fileRows = 0;
  const closeStatement = () => {
    if (values.length) statements.push(head + values.join(",\n") + tail);
    values = [];
    bytes = utf8.encode(head + tail).length;
  };
  const closeFile = () => {
    closeStatement();
    if (statements.length) files.push({ sql: statements.join(""), rows: fileRows });
    statements = [];
    fileRows = 0;
  };
  closeStatement();
  for (const row of rows) {
    const tuple = `(${COLUMNS.map((column) => literal(row[column])).join(", ")})`;
    const size = utf8.encode(tuple).length + 2;
    if (bytes + size > MAX_STATEMENT_BYTES) closeStatement();
    if (fileRows === MAX_FILE_ROWS) closeFile();
    values.push(tuple);
    bytes += size;
    fileRows++;
  }
  closeFile();
  return files;
}

function parseArgs(argv) {
  const options = { remote: false, dryRun: false, persist: [], file: undefined, namePlaceholder: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--remote") options.remote = true;
    else if (arg === "--local") options.remote = false;
    else if (arg === "--dry-run") options.dryRun = true;
    else if (arg === "--persist-to" && argv[i + 1] !== undefined) options.persist = ["--persist-to", argv[++i]];
    else if (arg === "--name-placeholder" && argv[i + 1] !== undefined) options.namePlaceholder = argv[++i];
    else if (!arg.startsWith("--") && options.file === undefined) options.file = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (options.file === undefined) throw new Error("no file given");
  if (options.remote && options.persist.length) throw new Error("--persist-to is for --local only");
  return options;
}

function runWrangler(args, options) {
  const where = options.remote ? ["--remote", "--yes"] : ["--local", ...options.persist];
  const run = spawnSync(process.execPath, [wrangler, ...args, ...where], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (run.status !== 0) {
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${run.stderr}${run.stdout}`.trim());
  }
  return run.stdout;
}

/** The ids and emails already in D1 (none when the users table does not exist yet). */
function existingUsers(options) {
  try {
    const out = runWrangler(["d1", "execute", "DB", "--json", "--command", "SELECT id, email FROM users"], options);
    const rows = JSON.parse(out).flatMap((result) => result.results ?? []);
    return { ids: new Set(rows.map((row) => row.id)), emails: new Set(rows.map((row) => row.email)) };
  } catch (err) {
    if (!/no such table: users/.test(err.message)) throw err;
    if (options.remote)
      throw new Error("The remote database has no users table yet: run npm run db:migrate:remote first.");
    return { ids: new Set(), emails: new Set() };
  }
}

const count = (n) => n.toLocaleString("en-US");

/** The BCRYPT_COST logins will run at: the environment's, else wrangler.toml's [vars]. */
function configuredCost() {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const value = process.env.BCRYPT_COST ?? /^BCRYPT_COST\s*=\s*"(\d+)"/m.exec(toml)?.[1];
  const cost = Number(value);
  return Number.isInteger(cost) ? cost : undefined;
}

/**
 * The warning for hashes above BCRYPT_COST, or undefined when there are none. A failing
 * login costs at least one comparison at the stored hash's cost, which cannot be made
 * cheaper (src/identity/passwords.ts pads cheaper hashes up to BCRYPT_COST, not down).
 * @param {{ password_hash: string }[]} rows the rows imported
 * @param {number | undefined} cost
 */
export function costWarning(rows, cost) {
  if (cost === undefined) return undefined;
  const above = rows.map((row) => Number(row.password_hash.slice(4, 6))).filter((rounds) => rounds > cost);
  if (above.length === 0) return undefined;
  const highest = Math.max(...above);
  const hashes = above.length === 1 ? "1 hash in this import has" : `${count(above.length)} hashes in this import have`;
  return [
    `Warning: ${hashes} a bcrypt cost above BCRYPT_COST (${cost}), up to ${highest}.`,
    `Until each of those users logs in once (which rehashes at ${cost}), a failing login for them takes longer than for`,
    `anyone else, so timing tells those accounts apart. Set BCRYPT_COST to ${highest} or more to close it.`,
  ].join("\n");
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  if (
    options.namePlaceholder !== undefined &&
    !nameRule("--name-placeholder").safeParse(options.namePlaceholder).success
  ) {
    console.error("--name-placeholder must be plain text of 1 to 100 characters");
    process.exit(2);
  }
  const started = performance.now();
  const where = options.remote ? "remote" : "local";
  let text;
  try {
    text = readFileSync(options.file, "utf8");
  } catch (err) {
    console.error(`Cannot read ${options.file}: ${err.message}`);
    process.exit(2);
  }

  // The same database the dev server uses: migrations first, as `npm run dev` does.
  if (!options.remote && !options.dryRun) runWrangler(["d1", "migrations", "apply", "DB"], options);
  const existing = existingUsers(options);

  const now = Date.now();
  const rows = [];
  const skipped = new Map();
  const skip = (line, reason) => {
    const lines = skipped.get(reason) ?? [];
    lines.push(line);
    skipped.set(reason, lines);
  };
  const seenIds = new Map();
  const seenEmails = new Map();
  const docs = readExport(text);
  for (const { line, doc, error } of docs) {
    if (error) {
      skip(line, error.startsWith("not a valid Extended JSON array") ? error : "not valid Extended JSON");
      continue;
    }
    const result = toUser(doc, { namePlaceholder: options.namePlaceholder, now });
    if ("reason" in result) {
      skip(line, result.reason);
      continue;
    }
    const { row } = result;
    if (existing.ids.has(row.id) || existing.emails.has(row.email)) {
      skip(line, `already in the ${where} database`);
    } else if (seenIds.has(row.id)) {
      skip(line, "duplicate _id in the file");
    } else if (seenEmails.has(row.email)) {
      skip(line, "duplicate email in the file (after normalization)");
    } else {
      seenIds.set(row.id, line);
      seenEmails.set(row.email, line);
      rows.push(row);
    }
  }

  if (!options.dryRun && rows.length > 0) {
    const files = sqlFiles(rows);
    const dir = mkdtempSync(join(tmpdir(), "import-users-"));
    const bar = new cliProgress.SingleBar(
      { format: "Importing {bar} {value}/{total} users | {eta_formatted} left", etaBuffer: 4 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(rows.length, 0);
    let failure;
    try {
      files.forEach((file, i) => {
        const path = join(dir, `users-${i}.sql`);
        writeFileSync(path, file.sql);
        runWrangler(["d1", "execute", "DB", "--json", "--file", path], options);
        bar.increment(file.rows);
      });
    } catch (err) {
      failure = err;
    } finally {
      bar.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (failure) {
      console.error(failure.message);
      console.error("Rows written before the failure stay; running the import again adds the rest only.");
      process.exit(1);
    }
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const total = [...skipped.values()].reduce((sum, lines) => sum + lines.length, 0);
  for (const [reason, lines] of skipped) {
    const shown = lines.slice(0, 20).map((line) => `line ${line}`);
    const more = lines.length > 20 ? ` and ${count(lines.length - 20)} more` : "";
    console.log(`skipped ${reason}: ${shown.join(", ")}${more}`);
  }
  const verb = options.dryRun ? "Would import" : "Imported";
  console.log(
    `${verb} ${count(rows.length)} of ${count(docs.length)} users into the ${where} database in ${seconds} s.`,
  );
  console.log(`Skipped ${count(total)}${total ? ":" : "."}`);
  for (const [reason, lines] of skipped) console.log(`  ${reason}: ${count(lines.length)}`);
  const warning = costWarning(rows, configuredCost());
  if (warning) console.warn(warning);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
