import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

/** Debian's chromium package; Playwright's own browser download cannot work offline. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Real headless Chromium with a fresh profile; `close` also deletes the profile.
 * `args` adds command-line flags (host mapping, certificate handling). */
export async function launchChromium(
  args: string[] = [],
): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "edge-auth-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      viewport: { width: 1100, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-quic",
        "--disable-sync",
        ...args,
      ],
    });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Where screenshots go (kept by CI as artifacts). */
export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/e2e/", import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

/** One Chromium for the calling test file and a fresh page for each test, handed to `opened`
 * before the test runs; a failing test leaves a full-page screenshot behind. */
export function pagePerTest(opened: (page: Page) => void): void {
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let page: Page | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    if (!browser) throw new Error("Chromium did not start");
    page = await browser.context.newPage();
    opened(page);
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === "fail") {
      await page?.screenshot({ path: `${ARTIFACTS}failed-${task.name.replace(/\W+/g, "-")}.png`, fullPage: true });
    }
    await page?.close();
  });
}

/** Runs a UI action on the demo page and waits until its status line reports the call's
 * outcome (its `data-seq` moves on), then reads it: `title` is the call and its status
 * ("POST /login → 200 OK"), `message` what the page tells its user, `body` the answer
 * (kept in the request log). */
export async function demoResult(page: Page, action: () => Promise<void>) {
  const before = Number(await page.getAttribute("#result", "data-seq"));
  await action();
  await page.waitForFunction((n) => Number(document.getElementById("result")?.dataset.seq) > n, before);
  return readResult(page);
}

/** What the demo's status line says now (see demoResult), read in one go: a flow of several
 * calls may change it between two separate reads. */
export async function readResult(page: Page) {
  return page.evaluate(() => {
    const text = (id: string) => document.getElementById(id)?.textContent ?? "";
    return {
      outcome: document.getElementById("result")?.dataset.outcome ?? null,
      title: text("result-title"),
      detail: text("result-detail"),
      message: text("result-message"),
      body: text("result-body"),
    };
  });
}

/** Fills the demo's "Create account" tab (it opens on "Sign in"). */
export async function fillSignUp(page: Page, email: string, password: string) {
  await page.click("#tab-register");
  await page.fill("#register-form [name=firstName]", "Grace");
  await page.fill("#register-form [name=lastName]", "Hopper");
  await page.fill("#register-form [name=email]", email);
  await page.fill("#register-form [name=password]", password);
}

/** Adds a platform authenticator with resident keys and user verification (as a phone or
 * laptop has) to `page`, through the DevTools WebAuthn domain. */
export async function addVirtualAuthenticator(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
}
