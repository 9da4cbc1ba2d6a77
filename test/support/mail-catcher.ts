import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./processes";

const maildev = fileURLToPath(new URL("../../node_modules/maildev/dist/bin/maildev.js", import.meta.url));

/** A real SMTP server with maildev's REST API, on free loopback ports, in its own process
 * as `npm run dev` starts it. STARTTLS is hidden: its certificate is self-signed, and a
 * worker would rightly refuse it. Not imported into this process on purpose: the workerd
 * suite's global setup runs through Vite's module runner, which would load maildev's
 * files through Vite and warn once per file ("Sourcemap for … points to missing source
 * files": maildev ships source maps without their sources). */
export async function startMailCatcher(): Promise<{ smtpUrl: string; api: string; stop: () => Promise<void> }> {
  const [smtp, web] = [await freePort(), await freePort()];
  const flags = ["--smtp", String(smtp), "--web", String(web), "--ip", "127.0.0.1", "--web-ip", "127.0.0.1"];
  const child = spawn(process.execPath, [maildev, ...flags, "--hide-extensions", "STARTTLS", "--silent"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let errors = "";
  child.stderr?.on("data", (chunk) => {
    errors += String(chunk);
  });
  const api = `http://127.0.0.1:${web}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${api}/api/email`, { signal: AbortSignal.timeout(2_000) })).ok) {
        return { smtpUrl: `smtp://127.0.0.1:${smtp}`, api, stop };
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`maildev did not start on ports ${smtp} and ${web}:\n${errors}`);
}
