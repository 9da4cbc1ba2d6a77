// `npm run dev -- <wrangler dev flags>`: makes sure .dev.vars holds every secret (a fresh
// random TOKEN_KEY when it is missing or empty), checks the whole configuration and the
// port, copies Swagger UI for /docs, applies the D1 migrations to the local database,
// starts a local mail catcher (maildev: SMTP on MAIL_SMTP_PORT, default 1025; web UI and
// REST API on MAIL_UI_PORT, default 1080) that the worker's smtp transport sends to, then
// runs `wrangler dev` with every flag passed through (--port, --ip, --var KEY:VALUE,
// --persist-to, ...). A bad setting or a busy port stops it before wrangler starts;
// stopping this script stops both.
// `--skip-config-check` (not passed on) starts wrangler even with a bad configuration,
// for tests of the worker's own 500 server_misconfigured answer.
// Unless SOCIAL_PROVIDERS is set (or `--no-local-idp`, not passed on), it also starts the
// Local IdP (scripts/local-idp.mjs: an OpenID Connect provider, any name and password) on
// LOCAL_IDP_PORT (default 9400, or any free port) and enables it as provider `local`; a
// SOCIAL_PROVIDERS that lists `local` without SOCIAL_LOCAL_ISSUER gets it too.
// Quiet by default (scripts/dev-output.mjs: the migrations as a count, wrangler's banners
// and bindings table left out, `/__scheduled` instead of wrangler's cron hint, which
// answers 500 here); `--verbose` (not passed on) shows everything. `--test-scheduled` is
// always on, so `/__scheduled` runs the Cron Trigger's handler.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { configProblems, readDevVars, readWranglerConfig, reportProblems } from "./config-check.mjs";
import { devOutputFilter, migrationSummary, pipeLines } from "./dev-output.mjs";
import { providerSigning } from "./dev-signing.mjs";
import { fillDevVars } from "./dev-vars.mjs";
import { copyDocsAssets } from "./docs-assets.mjs";
import { LOCAL_CLIENT } from "./local-idp.mjs";
import { anyFreePort, canListen } from "./ports.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const skipCheck = process.argv.includes("--skip-config-check");
const noLocalIdp = process.argv.includes("--no-local-idp");
const verbose = process.argv.includes("--verbose");
const OURS = new Set(["--skip-config-check", "--no-local-idp", "--verbose"]);
const args = process.argv.slice(2).filter((arg) => !OURS.has(arg));
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

const devVars = fileURLToPath(new URL("../.dev.vars", import.meta.url));
const filled = await fillDevVars(devVars);
if (filled) console.log(filled);

const wranglerConfig = await readWranglerConfig({
  config: flagValue(args, ["--config", "-c"]),
  env: flagValue(args, ["--env", "-e"]),
});
// wrangler dev would quietly take the next free port (and share this checkout's local D1).
const port = Number(flagValue(args, ["--port"]) ?? wranglerConfig.dev.port ?? 8787);
const ip = flagValue(args, ["--ip"]) ?? wranglerConfig.dev.ip ?? "localhost";

// Mail settings for local development, each only where neither a --var flag nor .dev.vars
// sets it: links point at this dev server, mail goes to the catcher. Nothing here is secret.
const fromFileAndFlags = { ...readDevVars(devVars), ...cliVars(args) };
const given = new Set(Object.keys(fromFileAndFlags).filter((name) => fromFileAndFlags[name] !== ""));
// The OAuth provider needs a public-key JWT_ALG: without one chosen, ES256 and a key kept in
// .dev.vars (scripts/dev-signing.mjs; docs/oauth-provider.md says so).
const signing = providerSigning(devVars, { ...wranglerConfig.vars, ...fromFileAndFlags }, given);
if (signing?.created) console.log("OAuth provider: JWT_ALG=ES256, a new signing key in .dev.vars (JWT_PRIVATE_KEYS)");
const linkHost = ["0.0.0.0", "::", "*"].includes(ip) ? "127.0.0.1" : ip.includes(":") ? `[${ip}]` : ip;
const mailDefaults = {
  ENVIRONMENT: "dev",
  PUBLIC_URL: `http://${linkHost}:${port}`,
  MAIL_FROM: "edge-auth-api (dev) <no-reply@localhost.test>",
};
if (signing) mailDefaults.JWT_ALG = signing.alg;
const catcherWanted = !given.has("MAIL_TRANSPORT") && !given.has("SMTP_URL");
const smtpPort = catcherWanted ? await catcherPort("MAIL_SMTP_PORT", 1025) : "";
const uiPort = catcherWanted ? await catcherPort("MAIL_UI_PORT", 1080) : "";
if (catcherWanted) Object.assign(mailDefaults, { MAIL_TRANSPORT: "smtp", SMTP_URL: `smtp://127.0.0.1:${smtpPort}` });
// The Local IdP as provider `local`: its client's redirect URI is this server's callback.
// SOCIAL_PROVIDERS set at all, even empty, is the developer's choice of providers.
const providers = fromFileAndFlags.SOCIAL_PROVIDERS ?? "";
const providersSet = Object.hasOwn(fromFileAndFlags, "SOCIAL_PROVIDERS");
const idpWanted =
  !noLocalIdp && (!providersSet || (providers.split(",").includes("local") && !given.has("SOCIAL_LOCAL_ISSUER")));
// Where sign-ins that end in a redirect (social, email links) may return: with nothing that
// says so (SOCIAL_REDIRECT_ORIGINS, a CORS_ORIGINS list, APP_URL), this dev server's own
// origin, so a first trip through the Local IdP can come back (its default, the CORS_ORIGINS
// entries, is empty under CORS_ORIGINS="*").
const corsList = given.has("CORS_ORIGINS") && fromFileAndFlags.CORS_ORIGINS.trim() !== "*";
if (!given.has("SOCIAL_REDIRECT_ORIGINS") && !corsList && !given.has("APP_URL")) {
  mailDefaults.SOCIAL_REDIRECT_ORIGINS = new URL(fromFileAndFlags.PUBLIC_URL || mailDefaults.PUBLIC_URL).origin;
}
const idpPort = idpWanted ? await catcherPort("LOCAL_IDP_PORT", 9400) : "";
const callback = `${fromFileAndFlags.PUBLIC_URL || mailDefaults.PUBLIC_URL}/login/social/local/callback`;
if (idpWanted) {
  Object.assign(mailDefaults, {
    SOCIAL_PROVIDERS: providers || "local",
    SOCIAL_LOCAL_ISSUER: `http://127.0.0.1:${idpPort}`,
    SOCIAL_LOCAL_CLIENT_ID: LOCAL_CLIENT.id,
    SOCIAL_LOCAL_CLIENT_SECRET: LOCAL_CLIENT.secret,
    SOCIAL_LOCAL_NAME: "Local IdP",
  });
}
const extra = Object.entries(mailDefaults)
  .filter(([name]) => !given.has(name))
  .flatMap(([name, value]) => ["--var", `${name}:${value}`]);

if (!skipCheck) {
  const bindings = { ...wranglerConfig.vars, ...readDevVars(devVars), ...cliVars([...extra, ...args]) };
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
  stdio: ["ignore", verbose ? "inherit" : "pipe", verbose ? "inherit" : "pipe"],
  encoding: "utf8",
});
if (migrate.status !== 0) {
  if (!verbose) process.stderr.write(`${migrate.stdout}${migrate.stderr}`);
  process.exit(migrate.status ?? 1);
}
if (!verbose) console.log(migrationSummary(migrate.stdout));

const catcher = catcherWanted ? await startCatcher(smtpPort, uiPort) : null;
if (catcher) console.log(`Mail: http://127.0.0.1:${uiPort} (the mail catcher's inbox; SMTP on 127.0.0.1:${smtpPort})`);
const idp = idpWanted ? await startIdp(idpPort, callback) : null;
if (idp) console.log(`Local IdP: http://127.0.0.1:${idpPort} (provider "local": any name, any password)`);

const devArgs = ["dev", ...extra, ...args, ...(args.includes("--test-scheduled") ? [] : ["--test-scheduled"])];
const dev = spawn(process.execPath, [wrangler, ...devArgs], {
  cwd: root,
  env,
  stdio: verbose ? "inherit" : ["inherit", "pipe", "pipe"],
});
if (!verbose) {
  const protocol = flagValue(args, ["--local-protocol"]) ?? "http";
  const base = `${protocol}://${linkHost}:${port}`;
  console.log(`Docs: ${base}/docs`);
  console.log(`Cron: curl "${base}/__scheduled?cron=23+*+*+*+*" runs the scheduled handler once`);
  console.log("(quiet output; everything wrangler prints: npm run dev -- --verbose)");
  pipeLines(dev.stdout, process.stdout, devOutputFilter());
  pipeLines(dev.stderr, process.stderr, devOutputFilter());
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    dev.kill(signal);
    catcher?.kill("SIGTERM");
    idp?.kill("SIGTERM");
  });
}
dev.on("exit", (code, signal) => {
  catcher?.kill("SIGTERM");
  idp?.kill("SIGTERM");
  process.exit(code ?? (signal ? 1 : 0));
});

/** The catcher's port: exactly `name`'s value when that environment variable is set;
 * otherwise `fallback`, or any free port when another catcher (a second `npm run dev`)
 * already holds it. */
async function catcherPort(name, fallback) {
  if (process.env[name]) return process.env[name];
  return String((await canListen(fallback, "127.0.0.1")) ? fallback : await anyFreePort());
}

/** Starts maildev on exactly these ports (loopback only, STARTTLS hidden: its certificate
 * is self-signed) and waits until its REST API answers; exits if it cannot start. */
async function startCatcher(smtpPort, uiPort) {
  const maildev = fileURLToPath(new URL("../node_modules/maildev/dist/bin/maildev.js", import.meta.url));
  const flags = ["--smtp", smtpPort, "--web", uiPort, "--ip", "127.0.0.1", "--web-ip", "127.0.0.1"];
  const child = spawn(process.execPath, [maildev, ...flags, "--hide-extensions", "STARTTLS", "--silent"], {
    cwd: root,
    env,
    // maildev announces its API on stdout even with --silent; the Mail: line says it.
    stdio: ["ignore", verbose ? "inherit" : "ignore", "inherit"],
  });
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
    `npm run dev: the mail catcher could not start on ports ${smtpPort} (SMTP) and ${uiPort} (web): set MAIL_SMTP_PORT and MAIL_UI_PORT to free ports`,
  );
  process.exit(1);
}

/** Starts the Local IdP on `port` for `redirectUri` and waits until its discovery
 * answers; exits if it cannot start. Its output is shown only if it fails. */
async function startIdp(port, redirectUri) {
  const script = fileURLToPath(new URL("./local-idp.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, "--port", port, "--redirect-uri", redirectUri], {
    cwd: root,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill("SIGTERM");
  console.error(
    `npm run dev: the Local IdP could not start on port ${port} (set LOCAL_IDP_PORT, or --no-local-idp)\n${output}`,
  );
  process.exit(1);
}

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
