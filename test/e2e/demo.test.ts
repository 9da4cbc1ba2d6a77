import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import axe from "axe-core";
import { Secret, TOTP } from "otpauth";
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { freePort } from "../support/processes";
import { ARTIFACTS, addVirtualAuthenticator, demoResult, fillSignUp, pagePerTest, readResult } from "./browser";

const { api, allowed, blocked } = inject("demo");
let page: Page;
pagePerTest((opened) => {
  page = opened;
  // Every wait below is bounded by this.
  page.setDefaultTimeout(15_000);
});

/** Opens the demo page served on `origin`, pointed at the API under test. */
async function open(origin: string) {
  await page.goto(`${origin}/?api=${encodeURIComponent(api)}`);
}

async function snap(name: string) {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/** A UI action on the demo page and what its result panel then reports. */
const act = (action: () => Promise<void>) => demoResult(page, action);

async function register(email: string, password: string) {
  await fillSignUp(page, email, password);
  return act(() => page.click("#register-form button[type=submit]"));
}

async function logIn(email: string, password: string) {
  await page.fill("#login-form [name=email]", email);
  await page.fill("#login-form [name=password]", password);
  return act(() => page.click("#login-form button[type=submit]"));
}

const uniqueEmail = () => `e2e-${crypto.randomUUID()}@example.com`;

describe("demo page on an allowed origin", () => {
  it("registers, logs in and is welcomed, showing each result", async () => {
    await open(allowed);
    const email = uniqueEmail();
    const password = "compiler-1952";

    const registerResponse = page.waitForResponse(
      (r) => r.url().endsWith("/register") && r.request().method() === "POST",
    );
    const registered = await register(email, password);
    expect(registered).toMatchObject({ outcome: "ok", title: "POST /register → 201 Created" });
    expect(JSON.parse(registered.body)).toMatchObject({ email, first_name: "Grace", last_name: "Hopper" });
    // The browser saw its exact origin granted, not a wildcard.
    expect((await registerResponse).headers()["access-control-allow-origin"]).toBe(allowed);

    // Signed up is signed in: the account page shows, and the status line says so.
    expect(registered.message).toBe("Welcome, Grace: your account is ready");
    expect(await page.isVisible("#account")).toBe(true);
    expect(await page.textContent("#session-user")).toBe(email);

    const loggedOut = await act(() => page.click("#logout"));
    expect(loggedOut).toMatchObject({ outcome: "ok", title: "POST /logout → 204 No Content", message: "Signed out" });
    // The page carries the email over to the sign-in form.
    expect(await page.inputValue("#login-form [name=email]")).toBe(email);
    await page.fill("#login-form [name=password]", password);
    const loggedIn = await act(() => page.click("#login-form button[type=submit]"));
    expect(loggedIn).toMatchObject({ outcome: "ok", title: "POST /login → 200 OK" });
    expect(JSON.parse(loggedIn.body).token).toMatch(/^ey/);
    expect(await page.textContent("#session-user")).toBe(email);

    const welcomed = await act(() => page.click("#welcome"));
    expect(welcomed).toMatchObject({
      outcome: "ok",
      title: "GET /welcome → 200 OK",
      body: "Welcome to FreeCodeCamp 🙌",
    });
    expect(welcomed.detail).toMatch(/^request id \S+/);
    expect(await page.locator("#history li > p").allTextContents()).toEqual([
      expect.stringContaining("GET /welcome → 200 OK"),
      expect.stringContaining("POST /login → 200 OK"),
      expect.stringContaining("POST /logout → 204 No Content"),
      expect.stringContaining("POST /register → 201 Created"),
    ]);
    await snap("allowed-origin");
  });

  it("reads /me, refreshes the session and logs out", async () => {
    await open(allowed);
    const email = uniqueEmail();
    await register(email, "session-password");

    const me = await act(() => page.click("#me"));
    expect(me.message).toBe("Account reloaded");
    expect(me).toMatchObject({ outcome: "ok", title: "GET /me → 200 OK" });
    expect(JSON.parse(me.body)).toMatchObject({ email, role: "user" });

    const refreshed = await act(() => page.click("#refresh"));
    expect(refreshed).toMatchObject({ outcome: "ok", title: "POST /token/refresh → 200 OK" });
    expect(JSON.parse(refreshed.body).refresh_token).toMatch(/^[\w-]{43}$/);

    const loggedOut = await act(() => page.click("#logout"));
    expect(loggedOut.title).toBe("POST /logout → 204 No Content");
    expect(await page.textContent("#session-user")).toBe("signed out");
    await snap("sessions");
  });

  it("lists the account's sessions and revokes another one", async () => {
    await open(allowed);
    const email = uniqueEmail();
    const password = "two-devices-1952";
    await register(email, password);
    // A second device: a login straight to the API.
    const other = await fetch(`${api}/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "curl/8.5.0" },
      body: JSON.stringify({ email, password }),
    });
    expect(other.status).toBe(200);
    await act(() => page.click("#me"));
    await expect.poll(() => page.locator("#sessions-list li").count()).toBe(2);
    expect(await page.textContent("#sessions-list li:not([data-current])")).toContain("curl/8.5.0");

    const revoked = await act(() => page.click("#sessions-list li:not([data-current]) button"));
    expect(revoked).toMatchObject({ outcome: "ok", message: "Session revoked" });
    expect(revoked.title).toMatch(/^DELETE \/sessions\/\S+ → 204 No Content$/);
    await expect.poll(() => page.locator("#sessions-list li").count()).toBe(1);
    const { token } = (await other.json()) as { token: string };
    expect((await fetch(`${api}/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it("can call the API in credentials mode (credentials: include) when CORS_CREDENTIALS=true", async () => {
    await open(allowed);
    await register(uniqueEmail(), "credentials-mode-1");
    const token = await page.evaluate(async (base) => {
      const res = await fetch(`${base}/login`, {
        method: "POST",
        credentials: "include",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      return res.status;
    }, api);
    // A 400 read by the page: the browser let the credentialed response through.
    expect(token).toBe(400);
    const status = await page.evaluate(async (base) => {
      const res = await fetch(`${base}/welcome`, { credentials: "include" });
      return { status: res.status, body: await res.text() };
    }, api);
    expect(status.status).toBe(403);
    expect(status.body).toContain("token_required");
  });

  it("shows the API's errors with status, code and message", async () => {
    await open(allowed);
    const email = uniqueEmail();
    const first = await fetch(`${api}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ firstName: "G", lastName: "H", email, password: "first-password" }),
    });
    expect(first.status).toBe(201);

    const again = await register(email, "first-password");
    expect(again).toMatchObject({
      outcome: "error",
      title: "POST /register → 409 Conflict",
      detail: "user_exists: User Already Exist. Please Login",
      message: "Create the account failed: User Already Exist. Please Login",
    });

    await page.click("#tab-login");
    const wrong = await logIn(email, "wrong-password");
    expect(wrong).toMatchObject({
      outcome: "error",
      title: "POST /login → 400 Bad Request",
      detail: "invalid_credentials: Invalid Credentials",
    });
    await snap("api-errors");
  });

  it("tells an unreachable API apart from a CORS block", async () => {
    await open(allowed);
    await page.fill("#api-base", `http://127.0.0.1:${await freePort()}`);
    const res = await logIn(uniqueEmail(), "any-password");
    expect(res.outcome).toBe("network");
    expect(res.title).toBe("POST /login → network error");
    expect(res.detail).toContain("Could not reach the API");
  });
});

describe("demo page on an origin the API does not allow", () => {
  it("has its fetch rejected by the browser and shows a CORS error", async () => {
    await open(blocked);
    const email = uniqueEmail();
    const res = await register(email, "blocked-password");
    expect(res.outcome).toBe("cors");
    expect(res.title).toBe("POST /register → blocked by CORS");
    expect(res.detail).toContain(`did not allow this origin (${blocked})`);
    expect(res.body).toMatch(/^TypeError: /);
    expect(await page.textContent("#session-user")).toBe("signed out");
    await snap("blocked-origin");

    // The preflight failed, so the browser never sent the POST: the email is still free.
    const direct = await fetch(`${api}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ firstName: "G", lastName: "H", email, password: "blocked-password" }),
    });
    expect(direct.status).toBe(201);
  });

  it("cannot use credentials mode either", async () => {
    await open(blocked);
    const outcome = await page.evaluate(async (base) => {
      try {
        await fetch(`${base}/welcome`, { credentials: "include" });
        return "resolved";
      } catch {
        return "rejected";
      }
    }, api);
    expect(outcome).toBe("rejected");
  });

  it("is not echoed back by the API, on preflights or on real requests", async () => {
    const preflight = await fetch(`${api}/register`, {
      method: "OPTIONS",
      headers: {
        Origin: blocked,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
      },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();

    const request = await fetch(`${api}/welcome`, { headers: { Origin: blocked } });
    expect(request.status).toBe(403);
    expect(request.headers.get("access-control-allow-origin")).toBeNull();

    // The allowed origin, asked the same way, is echoed: the check above is not vacuous.
    const control = await fetch(`${api}/welcome`, { headers: { Origin: allowed } });
    expect(control.headers.get("access-control-allow-origin")).toBe(allowed);
  });
});

// The screens of the demo at 1280×800, each action's outcome asserted inside that viewport.
// Screenshots always go to test-artifacts/e2e/demo-*.png (CI keeps them); with
// DOCS_SCREENSHOTS=1 (`npm run docs:screenshots`) they also replace the ones in
// docs/images/demo/ that docs/browser-sessions.md shows. Plain test runs leave the
// committed images alone, so they never dirty a clone.
const DOCS_IMAGES = fileURLToPath(new URL("../../docs/images/demo/", import.meta.url));
const VIEWPORT = { width: 1280, height: 800 };

describe("the demo's screens at 1280×800", () => {
  /** A viewport-sized screenshot of the page as it is now. */
  async function screen(name: string) {
    await page.screenshot({ path: `${ARTIFACTS}demo-${name}.png` });
    if (process.env.DOCS_SCREENSHOTS === "1") {
      mkdirSync(DOCS_IMAGES, { recursive: true });
      await page.screenshot({ path: `${DOCS_IMAGES}${name}.png` });
    }
  }

  /** axe-core's WCAG 2 A and AA rules on the screen as it is now: no violation. (Evaluated
   * through DevTools, which the page's CSP does not govern.) */
  async function accessible() {
    await page.evaluate(axe.source);
    const { passed, violations } = await page.evaluate(async () => {
      const { run } = (window as unknown as { axe: typeof axe }).axe;
      const results = await run(document, { runOnly: ["wcag2a", "wcag2aa"] });
      return {
        passed: results.passes.length,
        violations: results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
      };
    });
    expect(violations).toEqual([]);
    expect(passed).toBeGreaterThan(10);
  }

  /** An action whose outcome the status line shows inside the 1280×800 viewport; a flow
   * of several calls names the title it ends with. */
  async function visibly(action: () => Promise<void>, last?: string) {
    let result = await act(action);
    if (last !== undefined && result.title !== last) {
      await page.waitForFunction((t) => document.getElementById("result-title")?.textContent === t, last);
      result = await readResult(page);
    }
    const box = await page.locator("#result").boundingBox();
    expect(box, "the status line is rendered").not.toBeNull();
    if (box) {
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(VIEWPORT.width);
      expect(box.y + box.height).toBeLessThanOrEqual(VIEWPORT.height);
    }
    expect(await page.getAttribute("#result", "aria-live")).toBe("polite");
    return result;
  }

  it("signs up, sets up TOTP and a passkey, signs in through the MFA step, shows every account section and the log", async () => {
    // Passkeys need a domain as RP ID: the page on http://localhost:<port> (see mfa.test.ts).
    await page.setViewportSize(VIEWPORT);
    await page.goto(`${allowed.replace("127.0.0.1", "localhost")}/?api=${encodeURIComponent(api)}`);
    await page.waitForSelector("body[data-ready=true]");
    await addVirtualAuthenticator(page);
    expect(await page.isVisible("#panel-login")).toBe(true);
    expect(await page.isVisible("#log[open]")).toBe(false);
    await accessible();
    await screen("sign-in");

    // Sign up: the "Create account" tab, reached with the keyboard (arrow keys move between tabs).
    await page.focus("#tab-login");
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-register");
    expect(await page.isVisible("#panel-register")).toBe(true);
    const email = `grace-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = "compiler-1952";
    await fillSignUp(page, email, password);
    await accessible();
    await screen("sign-up");
    const signedUp = await visibly(() => page.click("#register-form button[type=submit]"));
    expect(signedUp).toMatchObject({ outcome: "ok", title: "POST /register → 201 Created" });
    expect(await page.isVisible("#account")).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("account-title");
    await page.waitForFunction(() => document.getElementById("factors")?.textContent?.startsWith("TOTP: off"));
    await expect.poll(() => page.locator("#sessions-list li[data-current=true]").count()).toBe(1);
    await accessible();
    await screen("account");

    // TOTP: set up with the QR code, confirm, recovery codes shown.
    await page.fill("#factor-password", password);
    const enrolled = await visibly(() => page.click("#totp-enrol"));
    expect(enrolled).toMatchObject({ outcome: "ok", title: "POST /me/mfa/totp → 200 OK" });
    const secret = (await page.textContent("#totp-secret")) ?? "";
    const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });
    await page.locator("#security").scrollIntoViewIfNeeded();
    await screen("totp-setup");
    await page.fill("#factor-code", totp.generate());
    const confirmed = await visibly(() => page.click("#totp-confirm"));
    expect(confirmed).toMatchObject({ outcome: "ok", title: "POST /me/mfa/totp/confirm → 200 OK" });
    await expect.poll(() => page.locator("#recovery-list li").count()).toBe(10);
    expect(await page.isVisible("#totp-enrolment")).toBe(false);
    const recoveryCodes = await page.locator("#recovery-list li").allTextContents();
    await page.waitForFunction(() => document.getElementById("factors")?.textContent?.startsWith("TOTP: on"));

    // A passkey, then renamed.
    await page.fill("#passkey-name", "Laptop");
    const added = await visibly(() => page.click("#passkey-add"), "POST /me/passkeys → 201 Created");
    expect(added).toMatchObject({ outcome: "ok", title: "POST /me/passkeys → 201 Created" });
    await expect.poll(() => page.locator("#passkey-list li").count()).toBe(1);
    await page.fill("#passkey-name", "Work laptop");
    const renamed = await visibly(() => page.click("#passkey-list li button:text-is('Rename')"));
    expect(renamed).toMatchObject({
      outcome: "ok",
      title: expect.stringMatching(/^PATCH \/me\/passkeys\/\S+ → 200 OK$/),
    });
    await page.waitForFunction(() =>
      document.querySelector("#passkey-list .passkey-name")?.textContent?.startsWith("Work laptop"),
    );
    await page.locator("#security").scrollIntoViewIfNeeded();
    await accessible();
    await screen("sign-in-methods");

    // Sign out, then in: the password, then the MFA step (not an error), then the code.
    const out = await visibly(() => page.click("#logout"));
    expect(out.title).toBe("POST /logout → 204 No Content");
    await page.fill("#login-form [name=email]", email);
    await page.fill("#login-form [name=password]", password);
    const step = await visibly(() => page.click("#login-form button[type=submit]"));
    expect(step).toMatchObject({
      outcome: "step",
      title: "POST /login → 403 Forbidden",
      message: "Password accepted: one more step",
    });
    expect(JSON.parse(step.body).error.code).toBe("mfa_required");
    expect(await page.isVisible("#mfa-step")).toBe(true);
    expect(await page.isVisible("#signed-out")).toBe(false);
    expect(await page.textContent("#mfa-code-label-text")).toBe("Enter the code from your authenticator");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("mfa-code-input");
    expect(await page.isVisible("#mfa-passkey")).toBe(true);
    expect(await page.isVisible("#mfa-recovery")).toBe(true);
    await accessible();
    await screen("mfa-step");
    // The confirm spent this step's code: the next step's is accepted (clock drift) and unused.
    await page.keyboard.type(totp.generate({ timestamp: Date.now() + 30_000 }));
    const verified = await visibly(() => page.keyboard.press("Enter"));
    expect(verified).toMatchObject({ outcome: "ok", title: "POST /login/mfa → 200 OK", message: "Signed in" });
    expect(await page.isVisible("#account")).toBe(true);

    // Sessions: two were started (sign-up, sign-in); the first was logged out, so one lives.
    await expect.poll(() => page.locator("#sessions-list li").count()).toBe(1);
    // Activity: the user's own events, newest first.
    await expect
      .poll(() =>
        page.locator("#activity-list li").evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.type)),
      )
      .toEqual(expect.arrayContaining(["login_succeeded", "logout"]));
    await page.locator("#identities-card").scrollIntoViewIfNeeded();
    await screen("activity");

    const ended = await visibly(() => page.click("#refresh"));
    expect(ended.title).toBe("POST /token/refresh → 200 OK");

    // The passkey removed, TOTP turned off (the password, and a recovery code as the code).
    await page.fill("#factor-password", password);
    const removed = await visibly(() => page.click("#passkey-list li button:text-is('Remove')"));
    expect(removed).toMatchObject({ outcome: "ok", message: "Passkey removed" });
    await expect.poll(() => page.locator("#passkey-list li").count()).toBe(0);
    await page.fill("#factor-code", recoveryCodes[0] ?? "");
    const off = await visibly(() => page.click("#totp-disable"));
    expect(off).toMatchObject({ outcome: "ok", title: "DELETE /me/mfa/totp → 204 No Content" });
    await page.waitForFunction(() =>
      document.getElementById("factors")?.textContent?.startsWith("TOTP: off · passkeys: 0"),
    );

    // The request log: closed by default, every request and answer, secrets masked.
    await page.click("#log summary");
    expect(await page.isVisible("#history")).toBe(true);
    const entries = await page.locator("#history > li").count();
    expect(Number(await page.textContent("#log-count"))).toBe(entries);
    const logged = (await page.locator("#history").textContent()) ?? "";
    expect(logged).toContain("POST /login/mfa → 200 OK");
    expect(logged).not.toContain(password);
    await page.locator("#log").evaluate((log) => log.scrollIntoView({ block: "start" }));
    await accessible();
    await screen("log");

    // Log out everywhere: back to the sign-in screen.
    const everywhere = await visibly(() => page.click("#logout-all"));
    expect(everywhere).toMatchObject({ outcome: "ok", title: "POST /logout/all → 204 No Content" });
    expect(await page.isVisible("#signed-out")).toBe(true);
  });
});
