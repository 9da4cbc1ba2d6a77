// `npm run dev -- <wrangler dev flags>`: makes sure .dev.vars has a signing key,
// copies Swagger UI for /docs, applies the D1 migrations to the local database, then
// runs `wrangler dev` with every flag passed through (--port, --ip, --var KEY:VALUE,
// --persist-to, ...).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { copyDocsAssets } from "./docs-assets.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const args = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

const devVars = new URL("../.dev.vars", import.meta.url);
if (!existsSync(devVars)) {
  writeFileSync(devVars, `# Local secrets, never committed.\nTOKEN_KEY=${randomBytes(32).toString("hex")}\n`, {
    mode: 0o600,
  });
  console.log("Created .dev.vars with a random 256-bit TOKEN_KEY");
}
// A .dev.vars made before MFA existed gets its key added, never replaced.
if (!/^MFA_ENCRYPTION_KEY=./m.test(readFileSync(devVars, "utf8"))) {
  appendFileSync(devVars, `MFA_ENCRYPTION_KEY=${randomBytes(32).toString("hex")}\n`);
  console.log("Added a random 256-bit MFA_ENCRYPTION_KEY to .dev.vars");
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
