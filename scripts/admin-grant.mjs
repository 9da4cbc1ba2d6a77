// `npm run admin:grant -- <email> [--local|--remote] [--persist-to DIR]`: makes an
// existing user an admin, through `wrangler d1 execute`. The first admin has to be
// made this way, by someone who can run wrangler for this account: there is no
// environment variable that grants admin by email (anyone could register it first).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const args = process.argv.slice(2);
const email = args.find((arg) => !arg.startsWith("--") && args[args.indexOf(arg) - 1] !== "--persist-to");
const remote = args.includes("--remote");
const persist = args.includes("--persist-to") ? ["--persist-to", args[args.indexOf("--persist-to") + 1]] : [];

if (!email) {
  console.error("usage: npm run admin:grant -- <email> [--local|--remote] [--persist-to DIR]");
  process.exit(2);
}
// The same canonical form the API stores; refuse anything odd rather than quote it.
const normalized = email.trim().normalize("NFC").toLowerCase();
if (!/^[^\s'"\\;]+@[^\s'"\\;]+$/u.test(normalized) || /\p{Cc}/u.test(normalized)) {
  console.error(`"${email}" does not look like an email address`);
  process.exit(2);
}

const sql = `UPDATE users SET role = 'admin', updated_at = ${Date.now()} WHERE email = '${normalized}' RETURNING id, email, role`;
const run = spawnSync(
  process.execPath,
  [wrangler, "d1", "execute", "DB", remote ? "--remote" : "--local", ...persist, "--json", "--command", sql],
  { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "inherit"] },
);
if (run.status !== 0) {
  console.error(run.stdout);
  process.exit(run.status ?? 1);
}
const rows = JSON.parse(run.stdout).flatMap((result) => result.results ?? []);
if (rows.length === 0) {
  console.error(`No user with email ${normalized} in the ${remote ? "remote" : "local"} database: register first.`);
  process.exit(1);
}
console.log(`${rows[0].email} (${rows[0].id}) is now an admin. Tokens issued before carry the old role until they expire;
D1-checked routes (the admin API among them) see the change at once.`);
