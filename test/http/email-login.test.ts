import { describe, expect, inject, it } from "vitest";
import { mailsTo, tokenIn } from "../support/mail-box";
import { ALLOWED_ORIGINS } from "./servers";

// Email sign-in (docs/email-login.md) over real HTTP against `npm run dev` with
// EMAIL_LOGIN=both, reading the mails from its maildev: what only a real server shows
// (timing over the wire, the link's page and its form's redirect as a client sees them).
const { allowlist: api, allowlistMail: mailApi } = inject("servers");
const RETURN = `${ALLOWED_ORIGINS[1]}/signed-in`;

/** A random client address per request, so the per-IP limits (20 mails a minute) never join requests up. */
const address = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 250) + 1).join(".")}`;

function post(path: string, body: unknown) {
  return fetch(`${api}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": address() },
    body: JSON.stringify(body),
  });
}

async function registered(): Promise<string> {
  const email = `email-login-${crypto.randomUUID()}@example.com`;
  const res = await post("/register", { firstName: "Lin", lastName: "Mori", email, password: "mechanism-1834" });
  expect(res.status).toBe(201);
  return email;
}

async function signInMail(address: string): Promise<string> {
  for (let tries = 0; tries < 100; tries++) {
    const mail = (await mailsTo(mailApi, address)).filter((each) => each.subject.includes("sign-in")).at(-1);
    if (mail) return mail.text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no sign-in mail to ${address}`);
}

describe("email sign-in over HTTP (npm run dev, EMAIL_LOGIN=both)", () => {
  it("signs in by the mailed code", async () => {
    const email = await registered();
    expect(await (await post("/login/email", { email })).json()).toEqual({ sent: true });
    const code = /Your sign-in code: (\d{6})/.exec(await signInMail(email))?.[1];
    const res = await post("/login/email/verify", { email, code });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { email: string }).email).toBe(email);
  });

  it("survives GET and HEAD three times each, then the page's form POST signs in through /login/exchange", async () => {
    const email = await registered();
    expect((await post("/login/email", { email, redirect_to: RETURN })).status).toBe(202);
    const token = tokenIn(await signInMail(email), "/login/email/link") ?? "";
    const link = `${api}/login/email/link?token=${token}`;
    for (let i = 0; i < 3; i++) {
      expect((await fetch(link, { method: "HEAD" })).status).toBe(200);
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(">Sign in</button>");
    }
    const res = await fetch(`${api}/login/email/link`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: api },
      body: new URLSearchParams({ token }).toString(),
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(RETURN);
    expect(location.href).not.toContain(token);
    const exchanged = await post("/login/exchange", { code: location.searchParams.get("code") });
    expect(exchanged.status).toBe(200);
    expect(((await exchanged.json()) as { email: string }).email).toBe(email);
  });

  it("answers a known and an unknown address in the same time: medians over 25 of each, interleaved, as a ratio", async () => {
    const known = await registered();
    const times: Record<"known" | "unknown", number[]> = { known: [], unknown: [] };
    // A warm-up, so neither side pays for the isolate's first request.
    await post("/login/email", { email: `warm-${crypto.randomUUID()}@example.com` });
    for (let i = 0; i < 25; i++) {
      // Alternating which goes first, so drift in the machine's load falls on both alike.
      const order = i % 2 === 0 ? (["known", "unknown"] as const) : (["unknown", "known"] as const);
      for (const kind of order) {
        const email = kind === "known" ? known : `nobody-${crypto.randomUUID()}@example.com`;
        const started = performance.now();
        const res = await post("/login/email", { email });
        await res.arrayBuffer();
        times[kind].push(performance.now() - started);
        expect(res.status).toBe(202);
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const [k, u] = [median(times.known), median(times.unknown)];
    expect(Math.max(k, u) / Math.min(k, u)).toBeLessThan(1.5);
  });
});
