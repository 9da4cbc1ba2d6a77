import { Secret, TOTP } from "otpauth";
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { ARTIFACTS, addVirtualAuthenticator, fillSignUp, pagePerTest } from "./browser";

// Second factors through the demo page in real Chromium. Passkeys need a domain as RP
// ID, so the page is opened as http://localhost:<port> (scripts/demo.mjs allows that
// origin and sets WEBAUTHN_RP_ID=localhost); the browser's authenticator is the
// DevTools protocol's virtual one.

const { api, allowed } = inject("demo");
const pageOrigin = allowed.replace("127.0.0.1", "localhost");
let page: Page;
pagePerTest((opened) => {
  page = opened;
  page.setDefaultTimeout(15_000);
});

async function open() {
  await page.goto(`${pageOrigin}/?api=${encodeURIComponent(api)}`);
}

/** Waits until the result panel shows `title` (a flow of several calls ends there). */
async function resultIs(title: string) {
  await page.waitForFunction((t) => document.getElementById("result-title")?.textContent === t, title);
  return JSON.parse((await page.textContent("#result-body")) || "{}") as Record<string, unknown>;
}

function claimsOf(token: unknown) {
  const payload = String(token).split(".")[1] ?? "";
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

async function registerAndSignIn(email: string, password: string) {
  await fillSignUp(page, email, password);
  await page.click("#register-form button[type=submit]");
  await resultIs("POST /register → 201 Created");
  await page.waitForFunction(() => document.getElementById("factors")?.textContent?.startsWith("TOTP: off"));
}

async function logOut() {
  await page.click("#logout");
  await resultIs("POST /logout → 204 No Content");
  expect(await page.textContent("#session-user")).toBe("signed out");
}

const uniqueEmail = () => `e2e-mfa-${crypto.randomUUID()}@example.com`;

describe("second factors on the demo page", () => {
  it("enrols a passkey, logs out, and logs in with the passkey only", async () => {
    await open();
    await addVirtualAuthenticator(page);
    const email = uniqueEmail();
    await registerAndSignIn(email, "compiler-1952");

    await page.fill("#passkey-name", "Virtual authenticator");
    await page.click("#passkey-add");
    await resultIs("POST /me/passkeys → 201 Created");
    await expect.poll(() => page.locator("#passkey-list li").count()).toBe(1);
    expect(await page.textContent("#passkey-list li .passkey-name")).toContain("Virtual authenticator");
    await page.waitForFunction(() => document.getElementById("factors")?.textContent?.includes("passkeys: 1"));

    await logOut();
    await page.click("#passkey-login");
    const body = await resultIs("POST /login/passkey → 200 OK");
    expect(body.email).toBe(email);
    expect(claimsOf(body.token).amr).toEqual(["hwk", "user", "mfa"]);
    expect(await page.textContent("#session-user")).toBe(email);
    await page.screenshot({ path: `${ARTIFACTS}mfa-passkey-login.png`, fullPage: true });
  });

  it("enrols TOTP, logs out, and logs in with the password and a code", async () => {
    await open();
    const email = uniqueEmail();
    const password = "compiler-1952";
    await registerAndSignIn(email, password);

    await page.fill("#factor-password", password);
    await page.click("#totp-enrol");
    await resultIs("POST /me/mfa/totp → 200 OK");
    const secret = (await page.textContent("#totp-secret")) ?? "";
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(await page.getAttribute("#totp-qr", "src")).toMatch(/^data:image\/svg\+xml,/);
    const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });

    await page.fill("#factor-code", totp.generate());
    await page.click("#totp-confirm");
    const confirmed = await resultIs("POST /me/mfa/totp/confirm → 200 OK");
    expect(confirmed.recovery_codes).toHaveLength(10);
    await page.waitForFunction(() => document.getElementById("factors")?.textContent?.startsWith("TOTP: on"));

    await logOut();
    await page.fill("#login-form [name=email]", email);
    await page.fill("#login-form [name=password]", password);
    await page.click("#login-form button[type=submit]");
    const required = await resultIs("POST /login → 403 Forbidden");
    expect(required.mfa_methods).toEqual(["totp", "recovery_code"]);
    // The second step, not an error: its own screen asks for the code.
    expect(await page.getAttribute("#result", "data-outcome")).toBe("step");
    expect(await page.getAttribute("#mfa-pending", "data-methods")).toBe("totp, recovery_code");
    expect(await page.isVisible("#mfa-code-input")).toBe(true);
    expect(await page.isVisible("#mfa-passkey")).toBe(false);

    // The confirm spent this step's code: the next step's is accepted (clock drift) and unused.
    await page.fill("#mfa-code-input", totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.click("#mfa-code");
    const body = await resultIs("POST /login/mfa → 200 OK");
    expect(claimsOf(body.token).amr).toEqual(["pwd", "otp", "mfa"]);
    expect(await page.textContent("#session-user")).toBe(email);
    await page.screenshot({ path: `${ARTIFACTS}mfa-totp-login.png`, fullPage: true });

    // Once more with a recovery code: the step's other way in.
    await logOut();
    await page.fill("#login-form [name=email]", email);
    await page.fill("#login-form [name=password]", password);
    await page.click("#login-form button[type=submit]");
    await resultIs("POST /login → 403 Forbidden");
    await page.click("#mfa-recovery");
    expect(await page.textContent("#mfa-code-label-text")).toBe("Enter one of your recovery codes");
    await page.fill("#mfa-code-input", String((confirmed.recovery_codes as string[])[0]));
    await page.click("#mfa-code");
    const recovered = await resultIs("POST /login/mfa → 200 OK");
    expect(recovered.email).toBe(email);
    await page.waitForFunction(() =>
      document.getElementById("factors")?.textContent?.endsWith("recovery codes left: 9"),
    );
  });
});
