import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { freePort } from "../support/processes";
import { ARTIFACTS, demoResult, pagePerTest } from "./browser";

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
  await page.fill("#register-form [name=firstName]", "Grace");
  await page.fill("#register-form [name=lastName]", "Hopper");
  await page.fill("#register-form [name=email]", email);
  await page.fill("#register-form [name=password]", password);
  return act(() => page.click("#register-form button"));
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

    // The page carries the email over to the login form.
    expect(await page.inputValue("#login-form [name=email]")).toBe(email);
    await page.fill("#login-form [name=password]", password);
    const loggedIn = await act(() => page.click("#login-form button"));
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
    expect(await page.locator("#history li").allTextContents()).toEqual([
      expect.stringContaining("GET /welcome → 200 OK"),
      expect.stringContaining("POST /login → 200 OK"),
      expect.stringContaining("POST /register → 201 Created"),
    ]);
    await snap("allowed-origin");
  });

  it("reads /me, refreshes the session and logs out", async () => {
    await open(allowed);
    const email = uniqueEmail();
    await register(email, "session-password");

    const me = await act(() => page.click("#me"));
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
    await register(email, "first-password");

    const again = await register(email, "first-password");
    expect(again).toMatchObject({
      outcome: "error",
      title: "POST /register → 409 Conflict",
      detail: "user_exists: User Already Exist. Please Login",
    });

    await page.fill("#login-form [name=email]", email);
    await page.fill("#login-form [name=password]", "wrong-password");
    const wrong = await act(() => page.click("#login-form button"));
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
    const res = await act(() => page.click("#welcome"));
    expect(res.outcome).toBe("network");
    expect(res.title).toBe("GET /welcome → network error");
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
