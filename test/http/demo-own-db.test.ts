import { existsSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, type Running, spawnNpm, stopAll, waitFor } from "../support/processes";

// `npm run demo -- --api-port N`: the API on its own local D1 (not the one a running
// `npm run dev` holds), and the mail catcher's real address printed when 1080 is taken.

const root = fileURLToPath(new URL("../../", import.meta.url));
const started: Running[] = [];
const cleanup: string[] = [];
let holder: Server | undefined;

afterAll(async () => {
  await stopAll(started);
  holder?.close();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** Holds 127.0.0.1:1080 unless something already does (a running `npm run dev`'s catcher). */
async function take1080(): Promise<void> {
  const server = createServer();
  const held = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(1080, "127.0.0.1", () => resolve(true));
  });
  if (held) holder = server;
}

describe("npm run demo -- --api-port", () => {
  it("runs the API on its own local D1 and prints the mail catcher's real address when 1080 is taken", async () => {
    await take1080();
    const [page, api, inspector] = [await freePort(), await freePort(), await freePort()];
    const dbDir = join(root, `.wrangler/demo-${api}`);
    cleanup.push(dbDir);
    const demo = spawnNpm(
      "npm run demo",
      [
        ...["run", "demo", "--", "--host", "127.0.0.1", "--port", String(page), "--api-port", String(api)],
        ...["--", "--inspector-port", String(inspector)],
      ],
      { MAIL_UI_PORT: "", MAIL_SMTP_PORT: "" },
    );
    started.push(demo);
    await waitFor(demo, `http://127.0.0.1:${api}/health`);
    const output = stripVTControlCharacters(demo.log.join(""));
    expect(output).toContain(`the API's local D1 is its own, in .wrangler/demo-${api}/`);
    expect(existsSync(join(dbDir, "v3/d1"))).toBe(true);

    const mail = /^Mail: http:\/\/127\.0\.0\.1:(\d+)/m.exec(output);
    expect(mail, output).not.toBeNull();
    expect(Number(mail?.[1])).not.toBe(1080);
    expect((await fetch(`http://127.0.0.1:${mail?.[1]}/api/email`)).status).toBe(200);
  }, 180_000);
});
