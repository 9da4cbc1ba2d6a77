// Starting and stopping `wrangler dev` for the benchmark, and reading the CPU time of
// the workerd processes it starts from /proc (Linux only).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TICKS_PER_SECOND = clockTicks();

/**
 * wrangler dev connects a DevTools inspector to the Worker and relays what the runtime
 * reports through it, including every subrequest (each local D1 call is one): measured here,
 * a `select 1` cost 1.4 ms of the worker process's CPU and 1.5 ms of its proxy's with it, and
 * 0.8 ms and none without. Production has no such instrumentation. wrangler leaves the
 * inspector off when it believes it runs in VS Code's JavaScript debug terminal (this
 * variable set; wrangler 4 `inspectorEnabled`), which is the only switch it has.
 */
const NO_DEVTOOLS = { VSCODE_INSPECTOR_OPTIONS: "{}" };

/** The environment for a wrangler dev with its inspector attached: for a CPU profile
 * (`--profile`), never for CPU figures. */
function withDevtools() {
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
  delete env.VSCODE_INSPECTOR_OPTIONS;
  return env;
}

/**
 * A free loopback port, for wrangler's HTTP server or its inspector. Chosen below Linux's
 * ephemeral range (32768 and up), which the kernel hands to anything that binds port 0:
 * wrangler and workerd do for their internal sockets, and could take a port found free
 * there before wrangler binds it. (test/support/processes.ts has the TypeScript twin.)
 */
export async function freePort() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
  }
  throw new Error("no free loopback port between 20000 and 32000");
}

function canBind(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * Spawns `node <script> ...args` (wrangler dev, or the project's dev bootstrap) in its own
 * process group on a free port, with a fresh persist dir unless `persistDir` is given, and
 * waits until `readyPath` answers. Returns `{ url, port, pid, dir, alive(), exitStatus(), stop(), log() }`;
 * `stop()` removes the persist dir only if it made it.
 */
export async function startServer(options) {
  // A port found free can be taken by another process (the other server's workerd, say)
  // before wrangler binds it: try again on new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (attempt >= 3 || !String(err?.message).includes("Address already in use")) throw err;
      console.log(`bench: ${options.name}: a port was taken before wrangler could bind it; retrying`);
    }
  }
}

async function startOnce({ name, cwd, script, args, readyPath, persistDir, devtools = false, timeoutMs = 90_000 }) {
  const [port, inspector] = [await freePort(), await freePort()];
  const dir = persistDir ?? mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const child = spawn(
    process.execPath,
    [
      script,
      ...args,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--inspector-port",
      String(inspector),
      "--persist-to",
      dir,
      // Per-request log lines would cost wrangler's own CPU; warnings still show.
      "--log-level",
      "warn",
    ],
    {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: devtools ? withDevtools() : { ...process.env, WRANGLER_SEND_METRICS: "false", ...NO_DEVTOOLS },
    },
  );
  let output = "";
  const keep = (chunk) => {
    output = (output + String(chunk)).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);

  const stop = () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    if (!persistDir) rmSync(dir, { recursive: true, force: true });
  };
  const alive = () => child.exitCode === null && child.signalCode === null;
  const exitStatus = () => (child.signalCode ? `signal ${child.signalCode}` : `exit code ${child.exitCode}`);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  // wrangler reports a port it cannot bind and then waits; no point waiting with it.
  while (Date.now() < deadline && child.exitCode === null && !output.includes("Address already in use")) {
    try {
      const res = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) {
        return { name, url, port, inspector, pid: child.pid, dir, alive, exitStatus, stop, log: () => output };
      }
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  stop();
  throw new Error(`${name} did not start within ${timeoutMs / 1000} s:\n${output}`);
}

/**
 * The workerd processes under `rootPid`, by role. wrangler dev starts two: its proxy, which
 * listens on the port we asked for and forwards to the other, which runs the user worker
 * (together with miniflare's entry worker and, for the API, the local D1 database).
 */
export function workerdProcesses(rootPid, port) {
  const found = { worker: [], proxy: [], wrangler: [] };
  for (const pid of descendants(rootPid)) {
    const comm = safeRead(`/proc/${pid}/comm`).trim();
    const cmdline = safeRead(`/proc/${pid}/cmdline`).split("\0");
    if (comm === "workerd") {
      const listensOnOurPort = cmdline.includes(`--socket-addr=entry=127.0.0.1:${port}`);
      found[listensOnOurPort ? "proxy" : "worker"].push(pid);
    } else if (comm === "node" || comm.startsWith("node")) {
      found.wrangler.push(pid);
    }
  }
  if (found.worker.length === 0) throw new Error(`no user-worker workerd process under pid ${rootPid}`);
  return found;
}

/** CPU milliseconds (user + system) used so far by each role's processes. */
export function cpuMs(processes) {
  const total = (pids) => pids.reduce((sum, pid) => sum + processTicks(pid), 0) * (1000 / TICKS_PER_SECOND);
  return { worker: total(processes.worker), proxy: total(processes.proxy), wrangler: total(processes.wrangler) };
}

/** Waits until `processes` use less than one clock tick in `quietMs`, at most `maxMs`. */
export async function waitUntilIdle(processes, { quietMs = 300, maxMs = 30_000 } = {}) {
  const deadline = Date.now() + maxMs;
  let before = cpuMs(processes);
  while (Date.now() < deadline) {
    await sleep(quietMs);
    const after = cpuMs(processes);
    const used = after.worker + after.proxy - before.worker - before.proxy;
    if (used < 1000 / TICKS_PER_SECOND) return true;
    before = after;
  }
  return false;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function processTicks(pid) {
  const stat = safeRead(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // Fields after "(comm)": state is field 3, so utime (14) and stime (15) are at 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function descendants(rootPid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = safeRead(`/proc/${entry}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const found = [];
  const queue = [rootPid];
  while (queue.length > 0 && found.length < 1000) {
    const pid = queue.shift();
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function safeRead(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function clockTicks() {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
}
