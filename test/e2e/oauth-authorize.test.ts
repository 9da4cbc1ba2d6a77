import { execFile } from "node:child_process";
import { createHash, randomBytes, webcrypto } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Secret, TOTP } from "otpauth";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, mailCatcherPorts, type Running, spawnNpm, stopAll, waitFor } from "../support/processes";
import { ARTIFACTS, launchChromium } from "./browser";

// The authorization endpoint in real Chromium: `npm run dev` with the provider on, a native
// (loopback) client, an account with TOTP; the login page, the second factor, the consent
// page and the redirect back to the client's local redirect URI. Each page passes axe-core
// (no serious or critical violation) and is screenshotted at 1280×800.

const wrangler = fileURLToPath(new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url));
const axeSource = readFileSync(
  fileURLToPath(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url)),
  "utf8",
);

const running: Running[] = [];
let dir: string;
let api: string;
let callback: { server: Server; url: string; hits: URL[] };
let browser: Awaited<ReturnType<typeof launchChromium>>;
const clientId = `e2e-${randomBytes(6).toString("hex")}`;
const account = { email: `oauth-${randomBytes(6).toString("hex")}@example.com`, password: "correct horse battery" };
let totpSecret: string;

async function es256Key(): Promise<string> {
  const pair = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  return JSON.stringify([{ ...(await webcrypto.subtle.exportKey("jwk", pair.privateKey)), kid: "e2e" }]);
}

const totpAt = (when: number) =>
  new TOTP({ secret: Secret.fromBase32(totpSecret), digits: 6, period: 30 }).generate({ timestamp: when });

async function json(path: string, body: unknown, token?: string) {
  const res = await fetch(`${api}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-auth-oauth-e2e-"));
  const [port, inspector, callbackPort, idpPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  api = `http://127.0.0.1:${port}`;
  const hits: URL[] = [];
  const server = createServer((req, res) => {
    hits.push(new URL(req.url ?? "/", `http://127.0.0.1:${callbackPort}`));
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end('<!doctype html><html lang="en"><title>Client</title><main><h1>Back at the client</h1></main></html>');
  });
  await new Promise<void>((resolve) => server.listen(callbackPort, "127.0.0.1", resolve));
  callback = { server, url: `http://127.0.0.1:${callbackPort}/callback`, hits };

  const mail = await mailCatcherPorts();
  const vars = {
    OAUTH_PROVIDER: "true",
    JWT_ALG: "ES256",
    JWT_PRIVATE_KEYS: await es256Key(),
    PUBLIC_URL: api,
    APP_NAME: "Acme Accounts",
  };
  const flags = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const where = ["--port", String(port), "--ip", "127.0.0.1", "--inspector-port", String(inspector)];
  const dev = spawnNpm("npm run dev (oauth)", ["run", "dev", "--", ...where, "--persist-to", dir, ...flags], {
    ...mail.env,
    LOCAL_IDP_PORT: String(idpPort),
  });
  running.push(dev);
  await waitFor(dev, `${api}/health`);

  const registered = await json("/register", { firstName: "Ada", lastName: "Lovelace", ...account });
  const token = String(registered.token);
  totpSecret = String((await json("/me/mfa/totp", { password: account.password }, token)).secret);
  // The previous step's code confirms, so the current one is free for the login.
  await json("/me/mfa/totp/confirm", { code: totpAt(Date.now() - 30_000) }, token);

  const now = Date.now();
  const sql = `insert into oauth_clients (client_id, client_name, type, registration, token_endpoint_auth_method,
    redirect_uris, grant_types, scope, first_party, created_at, updated_at)
    values ('${clientId}', 'Acme Notes', 'public', 'dynamic', 'none', '["http://127.0.0.1:1/callback"]',
    '["authorization_code","refresh_token"]', null, 0, ${now}, ${now})`;
  await promisify(execFile)(
    process.execPath,
    [wrangler, "d1", "execute", "DB", "--local", "--persist-to", dir, "--command", sql],
    {
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    },
  );
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stopAll(running);
  await new Promise((resolve) => callback?.server.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** axe-core's serious and critical violations on the page (its source evaluated through the
 * DevTools protocol, which the page's CSP does not govern). */
async function axeViolations(page: Page) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run: () => Promise<{ violations: { id: string; impact: string; help: string }[] }> };
      }
    ).axe;
    return (await axe.run()).violations.map(({ id, impact, help }) => ({ id, impact, help }));
  });
  return found.filter((violation) => violation.impact === "serious" || violation.impact === "critical");
}

async function checkPage(page: Page, name: string) {
  expect(await axeViolations(page)).toEqual([]);
  await page.screenshot({ path: `${ARTIFACTS}${name}.png` });
}

/** /oauth/authorize for the test client, PKCE S256 with a fresh verifier. */
function authorizeUrl(extra: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString("base64url");
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: callback.url,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    scope: "openid profile email offline_access",
    state: "e2e-state",
    ...extra,
  });
  return `${api}/oauth/authorize?${query}`;
}

describe("the authorization endpoint in Chromium", () => {
  it("signs in with a password and a TOTP code, asks consent, and lands back at the client with a code", async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(authorizeUrl());
    await page.waitForSelector("input[name=password]");
    expect(await page.textContent("h1")).toBe("Sign in to continue to Acme Notes");
    await checkPage(page, "oauth-login");

    await page.fill("input[name=email]", account.email);
    await page.fill("input[name=password]", account.password);
    await page.click("button[type=submit]");
    await page.waitForSelector("input[name=code]");
    await checkPage(page, "oauth-second-factor");

    await page.fill("input[name=code]", totpAt(Date.now()));
    await page.click("button[type=submit]");
    await page.waitForSelector("button[name=decision][value=allow]");
    const consent = await page.textContent("main");
    expect(consent).toContain("Acme Notes wants to access your Acme Accounts account");
    expect(consent).toContain("Not verified by Acme Accounts");
    expect(consent).toContain("127.0.0.1");
    await checkPage(page, "oauth-consent");
    const cookies = await browser.context.cookies(`${api}/oauth/authorize`);
    expect(cookies.find((cookie) => cookie.name === "__Secure-oauth_session")?.httpOnly).toBe(true);

    await page.click("button[name=decision][value=allow]");
    await page.waitForURL((url) => url.href.startsWith(callback.url));
    const back = new URL(page.url());
    expect(back.searchParams.get("state")).toBe("e2e-state");
    expect(back.searchParams.get("iss")).toBe(api);
    expect(back.searchParams.get("code")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.close();
  });

  it("signs in through the login page's social button (npm run dev's Local IdP) and comes back to consent", async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    await page.setViewportSize({ width: 1280, height: 800 });
    // prompt=login: the first test's session is in this browser.
    await page.goto(authorizeUrl({ prompt: "login", state: "social-state" }));
    await page.click("a:has-text('Continue with Local IdP')");
    // The Local IdP's own sign-in and consent pages (oidc-provider).
    const email = `social-${randomBytes(6).toString("hex")}@example.com`;
    await page.waitForSelector("input[name=login]");
    await page.fill("input[name=login]", email);
    await page.fill("input[name=password]", "any password");
    await page.click("button[type=submit]");
    await page.waitForSelector("button[type=submit]:has-text('Continue')");
    await page.click("button[type=submit]:has-text('Continue')");

    // Back on the API's own origin: the one-time code was traded there, consent is asked.
    await page.waitForSelector("button[name=decision][value=allow]");
    expect(new URL(page.url()).pathname).toBe("/oauth/authorize/social");
    expect(await page.textContent("main")).toContain(`Signed in as ${email}`);
    await page.click("button[name=decision][value=allow]");
    await page.waitForURL((url) => url.href.startsWith(callback.url));
    const back = new URL(page.url());
    expect(back.searchParams.get("state")).toBe("social-state");
    expect(back.searchParams.get("iss")).toBe(api);
    expect(back.searchParams.get("code")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.close();
  });
});
