import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A process started for black-box tests, with its output kept for error messages. */
export type Running = { name: string; child: ChildProcess; log: string[] };

/** Runs `npm <args>` in its own process group (so stopping it stops wrangler and
 * workerd too), with no stdin and metrics off; in `cwd` when given. */
export function spawnNpm(name: string, args: string[], extraEnv: Record<string, string> = {}, cwd?: string): Running {
  const child = spawn("npm", args, {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...extraEnv },
  });
  const running: Running = { name, child, log: [] };
  child.stdout?.on("data", (chunk) => running.log.push(String(chunk)));
  child.stderr?.on("data", (chunk) => running.log.push(String(chunk)));
  return running;
}

/** Polls `url` until it answers (200, unless `anyStatus`), the process dies, or 90 s pass. */
export async function waitFor(running: Running, url: string, anyStatus = false): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && running.child.exitCode === null) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (res.ok || anyStatus) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${running.name} did not answer ${url}:\n${running.log.join("")}`);
}

/** A loopback port that was free a moment ago (and has nothing listening on it now).
 * Chosen below Linux's ephemeral range (32768 and up), which the kernel hands to anything
 * that binds port 0: wrangler and workerd do for their internal sockets, and could take a
 * port found free there before wrangler binds it. (bench/lib/servers.mjs has the twin.) */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
  }
  throw new Error("no free loopback port between 20000 and 32000");
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** SIGTERM to each process group, a bounded wait, then SIGKILL. */
export async function stopAll(processes: Running[]): Promise<void> {
  await Promise.all(
    processes.map(async ({ child }) => {
      if (!child.pid || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      signal(child.pid, "SIGTERM");
      const timer = new Promise((resolve) => setTimeout(resolve, 10_000, "timeout"));
      if ((await Promise.race([exited, timer])) === "timeout") signal(child.pid, "SIGKILL");
    }),
  );
}

function signal(pid: number, name: NodeJS.Signals) {
  try {
    process.kill(-pid, name);
  } catch {
    // already gone
  }
}

/** Free ports for the mail catcher `npm run dev` starts (never its defaults, 1025 and 1080)
 * and for its Local IdP (never 9400), as the environment variables the dev script reads,
 * and the catcher's web address. */
export async function mailCatcherPorts(): Promise<{ env: Record<string, string>; mailApi: string }> {
  const [smtp, ui, idp] = [await freePort(), await freePort(), await freePort()];
  const env = { MAIL_SMTP_PORT: String(smtp), MAIL_UI_PORT: String(ui), LOCAL_IDP_PORT: String(idp) };
  return { env, mailApi: `http://127.0.0.1:${ui}` };
}

/** A dev server started for a test: `npm <command> --port … --ip 127.0.0.1
 * --inspector-port … --persist-to <persistTo> <flags>` on free loopback ports, with a mail
 * catcher of its own. Resolves once `/health` answers (with any status: a misconfigured
 * server answers it with a 500). `command` is `run dev --` unless given, e.g.
 * `exec -- wrangler dev` for plain wrangler. The process joins `started` before the wait, so
 * `stopAll(started)` stops it even when it never answers. */
export async function startDev(
  started: Running[],
  name: string,
  persistTo: string,
  flags: string[] = [],
  command = ["run", "dev", "--"],
): Promise<{ server: Running; url: string; mailApi: string }> {
  const [port, inspector] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const where = ["--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspector)];
  const mail = await mailCatcherPorts();
  const server = spawnNpm(name, [...command, ...where, "--persist-to", persistTo, ...flags], mail.env);
  started.push(server);
  await waitFor(server, `${url}/health`, true);
  return { server, url, mailApi: mail.mailApi };
}
