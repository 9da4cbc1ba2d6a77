import { describe, expect, inject, it } from "vitest";
import { type CaughtMail, mailsTo, tokenIn } from "../support/mail-box";

// Against the README's `npm run dev`, which starts maildev and points the worker's smtp
// transport at it: the mails are read back through maildev's REST API.
const { defaults, defaultsMail } = inject("servers");

type Json = Record<string, unknown>;

function post(path: string, body: unknown, token?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(`${defaults}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

async function me(token: string) {
  return fetch(`${defaults}/me`, { headers: { Authorization: `Bearer ${token}` } });
}

/** Waits for a mail to `address` whose subject ends with `subject`. */
async function mailTo(address: string, subject: string): Promise<CaughtMail> {
  for (let tries = 0; tries < 100; tries++) {
    const found = (await mailsTo(defaultsMail, address)).find((mail) => mail.subject.endsWith(subject));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no "${subject}" mail to ${address}`);
}

function link(mail: CaughtMail, path: string): { url: string; token: string } {
  const token = tokenIn(mail.text, path);
  if (!token) throw new Error(`no ${path} link in the mail`);
  return { url: `${defaults}${path}?token=${token}`, token };
}

const user = () => ({
  firstName: "Grace",
  lastName: "Hopper",
  email: `mail-${crypto.randomUUID()}@example.com`,
  password: "cobol-1959!",
});

describe("mail over real SMTP to npm run dev's mail catcher", () => {
  it("register → mail → link page (changes nothing) → confirm → /me shows verified", async () => {
    const input = user();
    const reg = await post("/register", input);
    expect(reg.status).toBe(201);
    const { token } = (await reg.json()) as { token: string };

    const mail = await mailTo(input.email, "confirm your email address");
    const { url, token: linkToken } = link(mail, "/email/verify");
    // The link is built from the dev server's own address (PUBLIC_URL), not the request.
    expect(url.startsWith(defaults)).toBe(true);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(((await (await me(token)).json()) as Json).email_verified).toBe(false);

    const confirmed = await post("/email/verify", { token: linkToken });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toEqual({ email: input.email, email_verified: true });
    expect(((await (await me(token)).json()) as Json).email_verified).toBe(true);
  });

  it("forgot → reset: old sessions dead, the new password works, the link is dead", async () => {
    const input = user();
    const reg = await post("/register", input);
    const { token, refresh_token } = (await reg.json()) as { token: string; refresh_token: string };

    const forgot = await post("/password/forgot", { email: input.email });
    expect(forgot.status).toBe(202);
    const unknown = await post("/password/forgot", { email: `nobody-${crypto.randomUUID()}@example.com` });
    expect(unknown.status).toBe(202);
    expect(await unknown.text()).toBe(await forgot.text());

    const { token: resetToken } = link(await mailTo(input.email, "reset your password"), "/password/reset");
    const newPassword = "a fresh passphrase 2026";
    const reset = await post("/password/reset", { token: resetToken, newPassword });
    expect(reset.status).toBe(204);

    expect((await me(token)).status).toBe(401);
    expect((await post("/token/refresh", { refresh_token })).status).toBe(401);
    expect((await post("/login", { email: input.email, password: input.password })).status).toBe(400);
    expect((await post("/login", { email: input.email, password: newPassword })).status).toBe(200);
    const again = await post("/password/reset", { token: resetToken, newPassword: "yet another passphrase" });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("invalid_link");
  });
});
