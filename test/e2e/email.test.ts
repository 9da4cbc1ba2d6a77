import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { mailsTo, tokenIn } from "../support/mail-box";
import { demoResult, fillSignUp, pagePerTest } from "./browser";

const { api, allowed, mailApi } = inject("demo");
let page: Page;
pagePerTest((opened) => {
  page = opened;
  page.setDefaultTimeout(15_000);
});

/** A UI action on the demo page and what its result panel then reports. */
const act = (action: () => Promise<void>) => demoResult(page, action);

/** The text of the newest mail to `address` whose subject ends with `subject`. */
async function mailText(address: string, subject: string): Promise<string> {
  for (let tries = 0; tries < 100; tries++) {
    const mail = (await mailsTo(mailApi, address)).filter((each) => each.subject.endsWith(subject)).at(-1);
    if (mail) return mail.text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no "${subject}" mail to ${address}`);
}

describe("mailed links in the browser", () => {
  it("demo: register shows the address unverified, “Forgot password?” mails a link, the link's page resets the password", async () => {
    await page.goto(`${allowed}/?api=${encodeURIComponent(api)}`);
    const email = `e2e-mail-${crypto.randomUUID()}@example.com`;
    await fillSignUp(page, email, "compiler-1952");
    expect(await act(() => page.click("#register-form button[type=submit]"))).toMatchObject({ outcome: "ok" });
    expect(await page.textContent("#session-verified")).toBe("no");

    // Signed out, the sign-in form already holds the address; "Forgot password?" posts it.
    expect(await act(() => page.click("#logout"))).toMatchObject({ outcome: "ok" });
    const forgot = await act(() => page.click("#forgot"));
    expect(forgot).toMatchObject({ outcome: "ok", title: "POST /password/forgot → 202 Accepted" });

    const text = await mailText(email, "reset your password");
    const token = tokenIn(text, "/password/reset");
    expect(token).toBeDefined();
    const link = `${api}/password/reset?token=${token}`;
    expect(text).toContain(link);

    // Follow the link as a person would: the API's page with its form.
    await page.goto(link);
    expect(await page.textContent("h1")).toBe("Choose a new password");
    // The token leaves the address bar once the page has read it.
    expect(page.url()).toBe(`${api}/password/reset`);
    const newPassword = "a brand new passphrase";
    await page.fill("#password", newPassword);
    await page.click("#submit");
    await page.waitForFunction(() => document.getElementById("status")?.dataset.kind === "ok");
    expect(await page.textContent("#status")).toContain("Your password was changed");

    // Back on the demo: the new password signs in, and the reset proved the address.
    await page.goto(`${allowed}/?api=${encodeURIComponent(api)}`);
    await page.fill("#login-form [name=email]", email);
    await page.fill("#login-form [name=password]", newPassword);
    expect(await act(() => page.click("#login-form button[type=submit]"))).toMatchObject({ outcome: "ok" });
    expect(await page.textContent("#session-verified")).toBe("yes");

    // The same link again: the page shows the API's answer.
    await page.goto(link);
    await page.fill("#password", "yet another passphrase");
    await page.click("#submit");
    await page.waitForFunction(() => document.getElementById("status")?.dataset.kind === "error");
    expect(await page.textContent("#status")).toBe("This link is invalid or has expired");
  });
});
