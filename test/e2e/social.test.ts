import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { demoResult, fillSignUp, launchChromium } from "./browser";

// Social sign-in in a real browser, cookie mode: the demo on app.example.test lists the
// providers of GET /login/social; a click goes to the API, on to npm run dev's Local IdP
// (oidc-provider's real login and consent pages), back through the callback to the demo
// with a one-time code, which the page trades at POST /login/exchange.
const { app, api } = inject("sites");

let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchChromium(["--host-resolver-rules=MAP *.test 127.0.0.1", "--ignore-certificate-errors"]);
  context = browser.context;
});
afterAll(async () => {
  await browser?.close();
});

describe("social sign-in in Chromium", () => {
  it("lists the providers, signs in through the Local IdP's pages and lands back signed in (cookie mode)", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${app}/?api=${encodeURIComponent(api)}`);
    await page.waitForSelector("body[data-ready=true]");
    expect(await page.textContent("#transport")).toContain("cookie");
    const button = page.locator("#social-providers button[data-provider=local]");
    expect(await button.textContent()).toBe("Sign in with Local IdP");

    const email = `browser-${crypto.randomUUID()}@example.com`;
    await button.click();
    // The Local IdP's own sign-in page, then its consent page.
    await page.waitForSelector("input[name=login]");
    await page.fill("input[name=login]", email);
    await page.fill("input[name=password]", "any password");
    await page.click("button[type=submit]");
    await page.waitForSelector("button[type=submit]:has-text('Continue')");
    await page.click("button[type=submit]:has-text('Continue')");

    // Back on the demo: the code was traded for a session, and is gone from the URL.
    await page.waitForURL((url) => url.origin === app);
    await page.waitForSelector("body[data-ready=true]");
    await page.waitForFunction((text) => document.getElementById("session-user")?.textContent?.includes(text), email);
    expect(page.url()).not.toContain("code=");
    expect(await page.textContent("#result-title")).toBe("POST /login/exchange → 200 OK");
    const cookies = await context.cookies(`${api}/token/refresh`);
    expect(cookies.find((cookie) => cookie.name === "__Secure-refresh_token")?.httpOnly).toBe(true);
    // The trip's cookie was for the trip only.
    expect(
      (await context.cookies(`${api}/login/social`)).find((cookie) => cookie.name === "social_state"),
    ).toBeUndefined();
  });

  it("links the Local IdP to a password account from the account page, lists it and unlinks it", async () => {
    // The Local IdP would remember the previous test's user, and the API its session.
    await context.clearCookies();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${app}/?api=${encodeURIComponent(api)}`);
    await page.waitForSelector("body[data-ready=true]");
    const email = `linker-${crypto.randomUUID()}@example.com`;
    await fillSignUp(page, email, "linking-1952");
    expect((await demoResult(page, () => page.click("#register-form button[type=submit]"))).outcome).toBe("ok");
    await page.waitForFunction(() => document.getElementById("identities-list")?.textContent?.includes("No linked"));

    // Cookie mode: the link button works (a trip to the provider and back, the session restored from the cookie).
    await page.click("#link-providers button:text-is('Link Local IdP')");
    await page.waitForSelector("input[name=login]");
    await page.fill("input[name=login]", `idp-${email}`);
    await page.fill("input[name=password]", "any password");
    await page.click("button[type=submit]");
    await page.waitForSelector("button[type=submit]:has-text('Continue')");
    await page.click("button[type=submit]:has-text('Continue')");
    await page.waitForURL((url) => url.origin === app);
    await page.waitForSelector("body[data-ready=true]");
    expect(new URL(page.url()).searchParams.has("linked")).toBe(false);
    expect(await page.textContent("#result-message")).toBe("Linked local to your account");
    await page.waitForFunction(() => document.getElementById("identities-list")?.textContent?.includes("Local IdP"));
    expect(await page.textContent("#session-user")).toBe(email);

    const unlinked = await demoResult(page, () => page.click("#identities-list button:text-is('Unlink')"));
    expect(unlinked).toMatchObject({ outcome: "ok", message: "Local IdP unlinked" });
    await page.waitForFunction(() => document.getElementById("identities-list")?.textContent?.includes("No linked"));
    await page.close();
  });
});
