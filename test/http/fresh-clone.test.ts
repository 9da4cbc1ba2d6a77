import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, type Running, spawnNpm, stopAll, waitFor } from "../support/processes";

// The README's first command on a fresh clone: `git clone` of this repository (its
// committed state, as CI sees it) into a temp directory, node_modules linked from this
// checkout instead of `npm install` (the same packages; nothing in the clone is built or
// generated beforehand). `npm run dev` must stay within its line budget and print the
// mail catcher's real address.

const root = fileURLToPath(new URL("../../", import.meta.url));
const started: Running[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await stopAll(started);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Lines `npm run dev` may print on a clean start (npm's own 4 included). */
const LINE_BUDGET = 25;

describe("npm run dev on a fresh clone", () => {
  it("prints at most 25 lines: the URLs, the mail catcher's real address, what it created, the migrations as a count", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-auth-fresh-clone-"));
    dirs.push(dir);
    const clone = join(dir, "edge-auth-api");
    execFileSync("git", ["clone", "--quiet", "--no-hardlinks", root, clone], { stdio: "ignore" });
    symlinkSync(join(root, "node_modules"), join(clone, "node_modules"), "dir");
    expect(existsSync(join(clone, ".dev.vars"))).toBe(false);

    const [port, inspector] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    // The catcher's ports are left to the script (1080, or a free one when that is taken).
    const env = { MAIL_SMTP_PORT: "", MAIL_UI_PORT: "" };
    const dev = spawnNpm(
      "npm run dev (fresh clone)",
      ["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspector)],
      env,
      clone,
    );
    started.push(dev);
    await waitFor(dev, `${url}/health`);
    // Whatever wrangler prints after it is ready has had time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const output = stripVTControlCharacters(dev.log.join(""));
    const lines = output.replace(/\n$/, "").split("\n");
    expect(lines.length, output).toBeLessThanOrEqual(LINE_BUDGET);
    expect(output).toContain("Created .dev.vars");
    expect(output).toMatch(/^D1: applied \d+ migrations to the local database$/m);
    expect(output).toContain(`Docs: ${url}/docs`);
    expect(output).toContain(`Cron: curl "${url}/__scheduled?cron=`);
    expect(output).toContain(`Ready on ${url}`);
    expect(output).not.toContain("/cdn-cgi/handler/scheduled");
    // A dependency's own warning (oidc-provider's "Unsupported runtime" on Node 20) is not ours to print.
    expect(output).not.toContain("WARNING");

    // The printed catcher address is where the catcher really is.
    const mail = /^Mail: (http:\/\/127\.0\.0\.1:(\d+))/m.exec(output);
    expect(mail, output).not.toBeNull();
    const inbox = await fetch(`${mail?.[1]}/api/email`);
    expect(inbox.status).toBe(200);
    expect(Array.isArray(await inbox.json())).toBe(true);

    // The cron route the script names runs the scheduled handler.
    const cron = await fetch(`${url}/__scheduled?cron=23+*+*+*+*`);
    expect(cron.status).toBe(200);
  }, 180_000);
  it("with --var OAUTH_PROVIDER:true: signs with ES256, its key kept in .dev.vars, in one more line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-auth-fresh-clone-oauth-"));
    dirs.push(dir);
    const clone = join(dir, "edge-auth-api");
    execFileSync("git", ["clone", "--quiet", "--no-hardlinks", root, clone], { stdio: "ignore" });
    symlinkSync(join(root, "node_modules"), join(clone, "node_modules"), "dir");

    const [port, inspector] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const where = ["--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspector)];
    const env = { MAIL_SMTP_PORT: String(await freePort()), MAIL_UI_PORT: String(await freePort()) };
    const dev = spawnNpm(
      "npm run dev -- --var OAUTH_PROVIDER:true (fresh clone)",
      ["run", "dev", "--", ...where, "--no-local-idp", "--var", "OAUTH_PROVIDER:true"],
      { ...env, LOCAL_IDP_PORT: String(await freePort()) },
      clone,
    );
    started.push(dev);
    await waitFor(dev, `${url}/health`);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const output = stripVTControlCharacters(dev.log.join(""));
    expect(output.replace(/\n$/, "").split("\n").length, output).toBeLessThanOrEqual(LINE_BUDGET);
    expect(output).toContain("OAuth provider: JWT_ALG=ES256, a new signing key in .dev.vars (JWT_PRIVATE_KEYS)");
    const devVars = readFileSync(join(clone, ".dev.vars"), "utf8");
    const line = /^JWT_PRIVATE_KEYS='(.+)'$/m.exec(devVars);
    expect(line, devVars).not.toBeNull();
    const [key] = JSON.parse(line?.[1] ?? "[]") as { kid: string; alg: string }[];
    expect(key?.alg).toBe("ES256");

    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([key?.kid]);
    const metadata = await fetch(`${url}/.well-known/openid-configuration`);
    expect(metadata.status).toBe(200);
    expect(await metadata.json()).toMatchObject({ issuer: url, id_token_signing_alg_values_supported: ["ES256"] });
  }, 180_000);
});
