import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ARTIFACTS, demoResult, fillSignUp, launchChromium } from "./browser";

// The cookie transport in a real browser, with real host names over HTTPS: the demo on
// app.example.test and the API on api.example.test share the site example.test (so a
// SameSite=Lax cookie flows between them); evil.test is another site.
const { app, api, evil } = inject("sites");

let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchChromium(["--host-resolver-rules=MAP *.test 127.0.0.1", "--ignore-certificate-errors"]);
  context = browser.context;
});
afterAll(async () => {
  await browser?.close();
});

/** Opens the demo served on `origin`, pointed at the API, once it has tried to restore a session. */
async function open(origin: string, page?: Page) {
  const tab = page ?? (await context.newPage());
  tab.setDefaultTimeout(15_000);
  await tab.goto(`${origin}/?api=${encodeURIComponent(api)}`);
  await tab.waitForSelector("body[data-ready=true]");
  return tab;
}

/** Runs a UI action and waits for the page to report the call's outcome. */
const act = demoResult;

async function register(page: Page) {
  const email = `cookie-${crypto.randomUUID()}@example.com`;
  // An earlier test's cookie may have signed this page in: the sign-up screen is for the signed out.
  if (await page.isVisible("#account")) await act(page, () => page.click("#logout"));
  await fillSignUp(page, email, "cookie-jar-1952");
  const result = await act(page, () => page.click("#register-form button[type=submit]"));
  expect(result.title).toBe("POST /register → 201 Created");
  return { email, body: result.body };
}

/** The refresh cookie as the browser keeps it for the API, if any. */
async function refreshCookie() {
  return (await context.cookies(`${api}/token/refresh`)).find((c) => c.name === "__Secure-refresh_token");
}

describe("cookie transport in Chromium (app.example.test + api.example.test)", () => {
  it("logs in, stays logged in across a reload, refreshes and logs out; scripts never see the token", async () => {
    const page = await open(app);
    expect(await page.textContent("#transport")).toContain("cookie");
    const { email, body } = await register(page);

    const cookie = await refreshCookie();
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax", path: "/token" });
    expect(cookie?.domain).toBe("api.example.test");
    const token = cookie?.value ?? "";
    expect(token).toMatch(/^[\w-]{43}$/);
    expect(body).not.toContain("refresh_token");
    expect(body).not.toContain(token);
    expect(await page.evaluate(() => document.cookie)).toBe("");

    // A reload loses the in-memory access token; the cookie brings the session back.
    await open(app, page);
    expect(await page.textContent("#session-user")).toBe(email);
    expect(await page.textContent("#session-refresh")).toContain("HttpOnly cookie");
    expect((await act(page, () => page.click("#me"))).title).toBe("GET /me → 200 OK");
    const restored = (await refreshCookie())?.value;
    expect(restored).not.toBe(token);

    const refreshed = await act(page, () => page.click("#refresh"));
    expect(refreshed.title).toBe("POST /token/refresh → 200 OK");
    expect(refreshed.body).not.toContain("refresh_token");
    expect((await refreshCookie())?.value).not.toBe(restored);
    expect(await page.evaluate(() => document.cookie)).toBe("");
    await page.screenshot({ path: `${ARTIFACTS}cookie-session.png`, fullPage: true });

    const loggedOut = await act(page, () => page.click("#logout"));
    expect(loggedOut.title).toBe("POST /logout → 204 No Content");
    expect(await refreshCookie()).toBeUndefined();
    await open(app, page);
    expect(await page.textContent("#session-user")).toBe("signed out");
    await page.close();
  });

  it("lets a page on another site neither read nor use the cookie", async () => {
    const page = await open(app);
    await register(page);
    const before = (await refreshCookie())?.value;
    expect(before).toBeDefined();

    // Every request that reaches the refresh route, with the page that made it.
    const refreshes: string[] = [];
    context.on("request", (req) => {
      if (req.url().endsWith("/token/refresh")) refreshes.push(`${req.method()} ${req.frame().url()}`);
    });
    const hostile = await open(evil);
    // The evil page's own start-up refresh was refused by CORS: it is signed out.
    expect(await hostile.textContent("#session-user")).toBe("signed out");
    const attempts = await hostile.evaluate(async (base) => {
      const outcomes: string[] = [];
      // A credentialed JSON call: CORS refuses evil.test, the page reads nothing.
      try {
        const res = await fetch(`${base}/token/refresh`, {
          method: "POST",
          credentials: "include",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refresh_transport: "cookie" }),
        });
        outcomes.push(`read ${res.status}`);
      } catch {
        outcomes.push("rejected");
      }
      // A "simple" cross-site POST needs no preflight; SameSite=Lax keeps the cookie off
      // it, and the API would refuse text/plain with the cookie anyway.
      await fetch(`${base}/token/refresh`, { method: "POST", mode: "no-cors", credentials: "include", body: "{}" });
      outcomes.push("sent");
      return outcomes;
    }, api);
    expect(attempts).toEqual(["rejected", "sent"]);
    expect(await hostile.evaluate(() => document.cookie)).toBe("");

    // Nothing was rotated or revoked: the app's session carries on with the same cookie.
    expect((await refreshCookie())?.value, refreshes.join("\n")).toBe(before);
    expect((await act(page, () => page.click("#me"))).title).toBe("GET /me → 200 OK");
    await hostile.close();
    await page.close();
  });

  it("keeps two tabs logged in when both refresh at the same moment", async () => {
    const first = await open(app);
    const { email } = await register(first);
    const second = await open(app);
    expect(await second.textContent("#session-user")).toBe(email);

    // A few rounds, each clicking "refresh" in both tabs at once: without coordination
    // one tab soon presents the cookie the other just spent.
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        act(first, () => first.click("#refresh")),
        act(second, () => second.click("#refresh")),
      ]);
      expect([a.title, b.title], `round ${round}`).toEqual([
        "POST /token/refresh → 200 OK",
        "POST /token/refresh → 200 OK",
      ]);
    }
    // Neither presented a spent cookie, so reuse detection revoked nothing.
    for (const tab of [first, second]) expect((await act(tab, () => tab.click("#me"))).title).toBe("GET /me → 200 OK");
    await open(app, second);
    expect(await second.textContent("#session-user")).toBe(email);
    await first.close();
    await second.close();
  });
});
