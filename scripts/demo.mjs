// `npm run demo -- [--port 5173] [--api-port 8787] [--host localhost] [--no-api]
//   [--tls-key key.pem --tls-cert cert.pem] [-- <npm run dev flags>]`
// Serves demo/ on its own origin and starts the API with `npm run dev`, with CORS_ORIGINS
// set to exactly that origin. With --tls-key/--tls-cert both are served over HTTPS and the
// API allows credentials, so the page uses the HttpOnly refresh cookie. Flags after a second `--` go to `npm run dev` (--persist-to,
// --inspector-port, ...). --no-api serves the page only, e.g. against a deployed API
// (open it with ?api=https://...). Ctrl-C stops both.
// The API gets its own local D1, .wrangler/demo-<api port>/ (never the one a running
// `npm run dev` uses, which wrangler would share and reload), unless the flags for
// `npm run dev` name one: `npm run demo -- -- --persist-to .wrangler/state` shares
// `npm run dev`'s.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { serveDemo } from "./demo-server.mjs";
import { canListen } from "./ports.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const { values } = parseArgs({
  args: split === -1 ? argv : argv.slice(0, split),
  options: {
    port: { type: "string", default: "5173" },
    "api-port": { type: "string", default: "8787" },
    host: { type: "string", default: "localhost" },
    "no-api": { type: "boolean", default: false },
    "tls-key": { type: "string" },
    "tls-cert": { type: "string" },
  },
});
if (Boolean(values["tls-key"]) !== Boolean(values["tls-cert"])) {
  console.error("demo: --tls-key and --tls-cert go together");
  process.exit(2);
}
const devFlags = split === -1 ? [] : argv.slice(split + 1);
const ownDb = !devFlags.some((flag) => flag === "--persist-to" || flag.startsWith("--persist-to="));
const port = Number(values.port);
const apiPort = Number(values["api-port"]);
const host = values.host;
const tls = values["tls-key"] && { key: readFileSync(values["tls-key"]), cert: readFileSync(values["tls-cert"]) };
const scheme = tls ? "https" : "http";
const origin = `${scheme}://${host}:${port}`;
const api = `${scheme}://${host}:${apiPort}`;
// Passkeys need a domain as RP ID, never an IP address: on a loopback IP the page is
// also allowed as http://localhost:<port>, the origin its passkeys are made on.
const isIp = /^[\d.]+$|:/.test(host);
const rpId = isIp ? "localhost" : host;
const pageOrigins = isIp ? [origin, `${scheme}://localhost:${port}`] : [origin];
// HTTPS: wrangler serves the API with the same certificate, and the page's credentialed
// requests (the refresh cookie) need CORS_CREDENTIALS.
const httpsFlags = tls
  ? [
      "--local-protocol",
      "https",
      "--https-key-path",
      values["tls-key"],
      "--https-cert-path",
      values["tls-cert"],
      "--var",
      "CORS_CREDENTIALS:true",
    ]
  : [];

// Both ports are checked before anything starts, so a busy one gets a plain answer.
const busy = [];
if (!(await canListen(port, host))) {
  busy.push(`port ${port} for the page is in use: choose another, e.g. npm run demo -- --port ${port + 1}`);
}
if (!values["no-api"] && !(await canListen(apiPort, host))) {
  busy.push(
    `port ${apiPort} for the API is in use (another npm run dev?): choose another, e.g. npm run demo -- --api-port ${apiPort + 1}`,
  );
}
if (busy.length > 0) {
  for (const line of busy) console.error(`demo: ${line}`);
  process.exit(1);
}

let server;
try {
  server = await serveDemo({ host, port, tls: tls || undefined });
} catch (err) {
  console.error(`demo: cannot serve on ${origin}: ${err.message}`);
  process.exit(1);
}
const page = !tls && apiPort === 8787 && host === "localhost" ? origin : `${origin}/?api=${api}`;
console.log(`demo: page on ${page}`);
const dbDir = `.wrangler/demo-${apiPort}`;
if (!values["no-api"]) {
  console.log(`demo: API on ${api}, CORS_ORIGINS=${pageOrigins.join(",")}`);
  if (ownDb) console.log(`demo: the API's local D1 is its own, in ${dbDir}/ (-- --persist-to DIR picks another)`);
}

let dev = null;
let stopping = false;
if (!values["no-api"]) {
  dev = spawn(
    "npm",
    [
      "run",
      "dev",
      "--",
      "--port",
      String(apiPort),
      "--ip",
      host,
      "--var",
      `CORS_ORIGINS:${pageOrigins.join(",")}`,
      "--var",
      `WEBAUTHN_ORIGINS:${pageOrigins.join(",")}`,
      "--var",
      `WEBAUTHN_RP_ID:${rpId}`,
      ...httpsFlags,
      ...(ownDb ? ["--persist-to", dbDir] : []),
      ...devFlags,
    ],
    // Its own process group, so stopping reaches wrangler and workerd behind npm's `sh -c`;
    // no stdin, since a background group that reads the terminal gets stopped.
    {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    },
  );
  dev.on("exit", (code) => {
    if (stopping) return;
    console.error(`demo: the API exited (${code ?? "signal"}); stopping the page server`);
    stop(code || 1);
  });
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(0, signal));

/** Stops the API (if it still runs) and the page server, then exits. */
function stop(code, signal = "SIGTERM") {
  if (stopping) return;
  stopping = true;
  server.close();
  if (!dev || dev.exitCode !== null || dev.signalCode !== null) process.exit(code);
  dev.once("exit", () => process.exit(code));
  killGroup(dev.pid, signal);
  // wrangler normally stops within a second; never hang on it.
  setTimeout(() => {
    killGroup(dev.pid, "SIGKILL");
    process.exit(code);
  }, 5_000).unref();
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
