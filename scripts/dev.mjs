// `npm run dev -- <wrangler dev flags>`: makes sure .dev.vars has a signing key,
// copies Swagger UI for /docs, applies the D1 migrations to the local database, starts a
// local mail catcher (maildev: SMTP on MAIL_SMTP_PORT, default 1025; web UI and REST API
// on MAIL_UI_PORT, default 1080) that the worker's smtp transport sends to, then runs
// `wrangler dev` with every flag passed through (--port, --ip, --var KEY:VALUE,
// --persist-to, ...). Stopping this script stops both.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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

// Mail settings for local development, each only where neither a --var flag nor .dev.vars
// sets it: links point at this dev server, mail goes to the catcher. Nothing here is secret.
const given = new Set([...varsInFlags(args), ...varsInFile(devVars)]);
const port = flagValue(args, "--port") ?? "8787";
const ip = flagValue(args, "--ip") ?? "localhost";
const linkHost = ["0.0.0.0", "::", "*"].includes(ip) ? "127.0.0.1" : ip.includes(":") ? `[${ip}]` : ip;
const mailDefaults = {
  ENVIRONMENT: "dev",
  PUBLIC_URL: `http://${linkHost}:${port}`,
  MAIL_FROM: "edge-auth-api (dev) <no-reply@localhost.test>",
};
const catcherWanted = !given.has("MAIL_TRANSPORT") && !given.has("SMTP_URL");
let catcher = null;
const extra = [];
if (catcherWanted) {
  const smtpPort = process.env.MAIL_SMTP_PORT || "1025";
  const uiPort = process.env.MAIL_UI_PORT || "1080";
  catcher = await startCatcher(smtpPort, uiPort);
  Object.assign(mailDefaults, { MAIL_TRANSPORT: "smtp", SMTP_URL: `smtp://127.0.0.1:${smtpPort}` });
  console.log(`Mail: http://127.0.0.1:${uiPort}`);
}
for (const [name, value] of Object.entries(mailDefaults)) if (!given.has(name)) extra.push("--var", `${name}:${value}`);

const dev = spawn(process.execPath, [wrangler, "dev", ...extra, ...args], { cwd: root, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    dev.kill(signal);
    catcher?.kill("SIGTERM");
  });
}
dev.on("exit", (code, signal) => {
  catcher?.kill("SIGTERM");
  process.exit(code ?? (signal ? 1 : 0));
});

/** Starts maildev on exactly these ports (loopback only, STARTTLS hidden: its certificate
 * is self-signed) and waits until its REST API answers; exits if it cannot start. */
async function startCatcher(smtpPort, uiPort) {
  const maildev = fileURLToPath(new URL("../node_modules/maildev/dist/bin/maildev.js", import.meta.url));
  const child = spawn(
    process.execPath,
    [maildev, "--smtp", smtpPort, "--web", uiPort, "--ip", "127.0.0.1", "--web-ip", "127.0.0.1"].concat([
      "--hide-extensions",
      "STARTTLS",
      "--silent",
    ]),
    { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] },
  );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`http://127.0.0.1:${uiPort}/api/email`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill("SIGTERM");
  console.error(
    `The mail catcher could not start on ports ${smtpPort} (SMTP) and ${uiPort} (web): set MAIL_SMTP_PORT and MAIL_UI_PORT to free ports`,
  );
  process.exit(1);
}

/** The names set by `--var NAME:value` flags. */
function varsInFlags(argv) {
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i] === "--var" ? argv[i + 1] : argv[i].startsWith("--var=") ? argv[i].slice(6) : undefined;
    if (value) names.push(value.split(":")[0]);
  }
  return names;
}

/** The names given a value in a .dev.vars file. */
function varsInFile(url) {
  if (!existsSync(url)) return [];
  return readFileSync(url, "utf8")
    .split("\n")
    .map((line) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S.*)?$/.exec(line))
    .filter((match) => match?.[2] !== undefined)
    .map((match) => match[1]);
}

/** The value of `--name value` or `--name=value`, the last one winning as in wrangler. */
function flagValue(argv, name) {
  let found;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name && i + 1 < argv.length) found = argv[i + 1];
    else if (argv[i].startsWith(`${name}=`)) found = argv[i].slice(name.length + 1);
  }
  return found;
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
