import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { mailsTo, tokenIn } from "../support/mail-box";
import { demoResult, pagePerTest } from "./browser";

// Email sign-in (docs/email-login.md) in Chromium: the demo page asks for a mail, signs in
// with the code read from the mail catcher, and with the link, whose page sends the
// browser back to the demo with a one-time code for POST /login/exchange.

const { api, allowed, mailApi } = inject("demo");
let page: Page;
pagePerTest((opened) => {
  page = opened;
  page.setDefaultTimeout(15_000);
});

/** A UI action on the demo page and what its result panel then reports. */
const act = (action: () => Promise<void>) => demoResult(page, action);

/** The newest sign-in mail to `address`. */
async function signInMail(address: string): Promise<string> {
  for (let tries = 0; tries < 100; tries++) {
    const mail = (await mailsTo(mailApi, address)).filter((each) => each.subject.includes("sign-in")).at(-1);
    if (mail) return mail.text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no sign-in mail to ${address}`);
}

/** A fresh account (through the API) and the demo page, its email in the email sign-in form. */
async function ready() {
  const email = `e2e-email-login-${crypto.randomUUID()}@example.com`;
  const res = await fetch(`${api}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ firstName: "Lin", lastName: "Mori", email, password: "mechanism-1834" }),
  });
  expect(res.status).toBe(201);
  await page.goto(`${allowed}/?api=${encodeURIComponent(api)}`);
  await page.waitForSelector("body[data-ready=true]");
  await page.fill("#email-login-form [name=email]", email);
  const asked = await act(() => page.click("#email-login-form button"));
  expect(asked).toMatchObject({ outcome: "ok", title: "POST /login/email → 202 Accepted" });
  return email;
}

describe("email sign-in in the browser", () => {
  it("demo: signs in with the code from the mail", async () => {
    const email = await ready();
    const code = /Your sign-in code: (\d{6})/.exec(await signInMail(email))?.[1] ?? "";
    expect(code).toMatch(/^\d{6}$/);
    await page.fill("#email-code", code);
    const signedIn = await act(() => page.click("#email-code-submit"));
    expect(signedIn).toMatchObject({ outcome: "ok", title: "POST /login/email/verify → 200 OK" });
    expect(await page.textContent("#session-user")).toBe(email);
    expect(await page.textContent("#session-verified")).toBe("yes");
  });

  it("demo: signs in with the link: its page, the Sign in button, back to the demo with a code it trades", async () => {
    const email = await ready();
    const token = tokenIn(await signInMail(email), "/login/email/link");
    expect(token).toBeDefined();
    const link = `${api}/login/email/link?token=${token}`;
    await page.goto(link);
    expect(await page.textContent("h1")).toContain("Sign in to");
    // The token leaves the address bar once the page has loaded.
    expect(page.url()).toBe(`${api}/login/email/link`);
    await page.click("button[type=submit]");
    await page.waitForURL((url) => url.origin === allowed);
    await page.waitForFunction((address) => document.getElementById("session-user")?.textContent === address, email);
    // The one-time code left the demo's address bar too, and no token was ever in it.
    expect(new URL(page.url()).searchParams.has("code")).toBe(false);
    expect(await page.locator("#history li").first().textContent()).toContain("POST /login/exchange → 200 OK");
    // The same link again: the page says it was used and offers a new one.
    await page.goto(link);
    expect(await page.textContent("h1")).toBe("This sign-in link has expired or was already used");
  });
});
