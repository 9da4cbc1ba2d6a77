import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../src/platform/config";
import { NO_PASSWORD } from "../src/platform/schema";
import { ConfigError } from "../src/platform/settings-kinds";
import { app } from "../src/worker";
import { auditRowsOf, claimsOf, type Json, note, SIGNED_IN_FIELDS, uniqueEmail } from "./helpers";
import { clientIp, errorCode, expectMailCount, inbox, PUBLIC_URL, post, register, request, withMail } from "./mail";
import { type CaughtMail, tokenIn } from "./support/mail-box";
import { at, codeAt, withTotp } from "./totp";

// Passwordless sign-in by email (issue 26, src/features/email-login/): the real app with
// mail on, over real SMTP to maildev, against real D1.

const APP = "https://app.example.com";
const RETURN = `${APP}/signed-in`;
const KEY = "test-email-login-key-at-least-32-bytes-long";
const LOGIN = { EMAIL_LOGIN: "both", EMAIL_LOGIN_KEY: KEY, SOCIAL_REDIRECT_ORIGINS: APP, LOCKOUT_AFTER: "10" };
// One bindings object per setting, so each is parsed once, as in production.
const both = { ...withMail, ...LOGIN };
const codeOnly = { ...both, EMAIL_LOGIN: "code" };
const linkOnly = { ...both, EMAIL_LOGIN: "link" };
const quick = { ...both, MAIL_COOLDOWN: "1s" };
const lockFive = { ...both, LOCKOUT_AFTER: "5" };
const requireVerified = { ...both, REQUIRE_EMAIL_VERIFICATION: "true" };
type Bindings = typeof both;

const SAME_ORIGIN = { origin: new URL(PUBLIC_URL).origin };

/** POST /login/email for `email` (with `redirect_to` unless `extra` says otherwise). */
function ask(email: string, bindings: object = both, extra: Json = { redirect_to: RETURN }, ip = clientIp()) {
  return post("/login/email", { email, ...extra }, { bindings, ip });
}

/** The `count`-th sign-in mail to `address` (the verification mail of register aside). */
async function loginMail(address: string, count = 1): Promise<CaughtMail> {
  for (let tries = 0; tries < 50; tries++) {
    const mails = (await inbox(address)).filter((mail) => mail.subject.includes("sign-in"));
    if (mails.length >= count) return mails[count - 1] as CaughtMail;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${count} sign-in mails reached ${address}`);
}

const codeIn = (mail: CaughtMail) => /Your sign-in code: (\d{6})/.exec(mail.text)?.[1] ?? "";
const linkIn = (mail: CaughtMail) => tokenIn(mail.text, "/login/email/link") ?? "";

function verify(email: string, code: string, bindings: object = both, extra: Json = {}) {
  return post("/login/email/verify", { email, code, ...extra }, { bindings });
}

function page(token: string, method: "GET" | "HEAD" = "GET", bindings: object = both) {
  return request(`/login/email/link?token=${encodeURIComponent(token)}`, { method }, bindings);
}

function press(token: string, headers: Record<string, string> = SAME_ORIGIN, bindings: object = both) {
  return request(
    "/login/email/link",
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ token }).toString(),
      redirect: "manual",
    },
    bindings,
  );
}

function exchange(code: string, bindings: object = both) {
  return post("/login/exchange", { code }, { bindings });
}

/** A registered account (verification mail and all) that asked for a sign-in mail. */
async function asked(bindings: Bindings = both, extra: Json = { redirect_to: RETURN }) {
  const user = await register({}, bindings);
  const res = await ask(user.input.email, bindings, extra);
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ sent: true });
  const mail = await loginMail(user.input.email);
  return { ...user, email: user.input.email, mail, code: codeIn(mail), link: linkIn(mail) };
}

async function row(sql: string, ...values: unknown[]) {
  return env.DB.prepare(sql)
    .bind(...values)
    .first<Record<string, unknown>>();
}

describe("POST /login/email and the code", () => {
  it("signs in with the mailed code: exactly /login's body, amr otp, the address verified, audited", async () => {
    const { email, body: user, mail, code } = await asked();
    expect(code).toMatch(/^\d{6}$/);
    expect(mail.subject).toBe(`Edge <Auth> & Co: your sign-in code is ${code}`);
    expect(mail.text).toContain("Someone asked to sign in to Edge <Auth> & Co");
    expect(mail.text).toContain("IP address");
    expect(mail.text).toContain("If this wasn't you, ignore this mail");
    expect(mail.text).toContain(`${PUBLIC_URL}/login/email/link?token=`);
    const res = await verify(email, code);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Json & { token: string };
    expect(Object.keys(body)).toEqual(SIGNED_IN_FIELDS);
    expect(body.id).toBe(user.id);
    expect(claimsOf(body.token).amr).toEqual(["otp"]);
    expect(await row("select email_verified_at is not null as v from users where id = ?", user.id)).toEqual({ v: 1 });
    const events = (await auditRowsOf(String(user.id))).map(({ type, details }) => [type, details]);
    expect(events).toContainEqual(["email_login_requested", '{"method":"both"}']);
    expect(events).toContainEqual(["email_login", '{"method":"code"}']);
    expect(events).toContainEqual(["login_succeeded", '{"amr":"otp"}']);
  });

  it("signs in an account without a password (as social sign-in makes them) by code and by link", async () => {
    for (const by of ["code", "link"] as const) {
      const user = await register({}, both);
      await env.DB.prepare("update users set password_hash = ? where id = ?").bind(NO_PASSWORD, user.body.id).run();
      expect((await ask(user.input.email)).status).toBe(202);
      const mail = await loginMail(user.input.email);
      const res =
        by === "code"
          ? await verify(user.input.email, codeIn(mail))
          : await exchange(
              new URL((await press(linkIn(mail))).headers.get("location") ?? "").searchParams.get("code") ?? "",
            );
      expect(res.status, by).toBe(200);
      expect(((await res.json()) as Json).id).toBe(user.body.id);
    }
  });

  it("stores the code as an HMAC under EMAIL_LOGIN_KEY, bound to its row: never the code, nor its SHA-256", async () => {
    const { body: user, code } = await asked();
    const stored = await row(
      "select id, data, token_hash from single_use_tokens where user_id = ? and purpose = 'email_login'",
      user.id,
    );
    const data = JSON.parse(String(stored?.data)) as { mac: string; redirect_to: string };
    expect(data.redirect_to).toBe(RETURN);
    expect(data.mac).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(code);
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(KEY),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`email_login:${stored?.id}:${code}`));
    expect(data.mac).toBe([...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join(""));
    const sha = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(code));
    expect(data.mac).not.toBe([...new Uint8Array(sha)].map((byte) => byte.toString(16).padStart(2, "0")).join(""));
  });

  it("works once: the code again is 400 invalid_code, and its link is spent with it", async () => {
    const { email, code, link } = await asked();
    expect((await verify(email, code)).status).toBe(200);
    const again = await verify(email, code);
    expect(again.status).toBe(400);
    expect(await errorCode(again)).toBe("invalid_code");
    expect(await (await page(link)).text()).toContain("expired or was already used");
  });

  it("ends the code at the 5th wrong try: then even the right code is invalid_code", async () => {
    const { email, body: user, code } = await asked();
    const wrong = code === "000000" ? "000001" : "000000";
    for (let i = 0; i < 5; i++) {
      const res = await verify(email, i === 4 ? "12345x" : wrong);
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("invalid_code");
    }
    const right = await verify(email, code);
    expect(right.status).toBe(400);
    expect(await errorCode(right)).toBe("invalid_code");
    const failed = (await auditRowsOf(String(user.id))).filter(({ type }) => type === "email_login_failed");
    expect(failed.map(({ details }) => details)).toEqual([
      ...Array(5).fill('{"method":"code","reason":"wrong_code"}'),
      '{"method":"code","reason":"no_code"}',
    ]);
  });

  it("gives a burst of concurrent guesses no more than 5 tries of a code (each takes its try before the check)", async () => {
    const { email, body: user, code } = await asked();
    const wrong = code === "000000" ? "000001" : "000000";
    const answers = await Promise.all(Array.from({ length: 8 }, () => verify(email, wrong)));
    expect(answers.map((res) => res.status)).toEqual(Array(8).fill(400));
    const reasons = (await auditRowsOf(String(user.id)))
      .filter(({ type }) => type === "email_login_failed")
      .map(({ details }) => JSON.parse(String(details)).reason);
    expect(reasons.filter((reason) => reason === "wrong_code")).toHaveLength(5);
    expect(reasons.filter((reason) => reason === "no_code")).toHaveLength(3);
    expect(await errorCode(await verify(email, code))).toBe("invalid_code");
  });

  it("refuses an expired code", async () => {
    const { email, body: user, code } = await asked();
    await env.DB.prepare("update single_use_tokens set expires_at = ? where user_id = ? and purpose = 'email_login'")
      .bind(Date.now() - 1000, user.id)
      .run();
    const res = await verify(email, code);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_code");
  });

  it("refuses a code sent for another address, which keeps working for its own", async () => {
    const a = await asked();
    const b = await register({}, both);
    const res = await verify(b.input.email, a.code);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_code");
    expect((await verify(uniqueEmail("nobody"), a.code)).status).toBe(400);
    expect((await verify(a.email, a.code)).status).toBe(200);
  });

  it("replaces the previous code and link with a newer request (after MAIL_COOLDOWN); within it, sends nothing", async () => {
    const first = await asked(quick);
    expect((await ask(first.email, quick)).status).toBe(202);
    await expectMailCount(first.email, 2); // register's verification mail and the first sign-in mail
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await ask(first.email, quick)).status).toBe(202);
    const second = await loginMail(first.email, 2);
    const old = await verify(first.email, first.code, quick);
    expect(old.status).toBe(400);
    expect(await errorCode(old)).toBe("invalid_code");
    expect(await (await page(first.link, "GET", quick)).text()).toContain("expired or was already used");
    expect((await verify(first.email, codeIn(second), quick)).status).toBe(200);
  });

  it("gives unknown and disabled addresses the same 202 and no mail", async () => {
    const unknown = uniqueEmail("unknown");
    const res = await ask(unknown);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ sent: true });
    const disabled = await register({}, both);
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(disabled.body.id).run();
    expect((await ask(disabled.input.email)).status).toBe(202);
    await expectMailCount(unknown, 0);
    await expectMailCount(disabled.input.email, 1); // the verification mail only
  });

  it("answers known and unknown addresses in the same time (medians over 21 of each, as a ratio)", async () => {
    const known = await register({}, both);
    const times: Record<"known" | "unknown", number[]> = { known: [], unknown: [] };
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 21; i++) {
      for (const kind of ["known", "unknown"] as const) {
        const email = kind === "known" ? known.input.email : uniqueEmail("nobody");
        const ctx = createExecutionContext();
        const init = {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": clientIp() },
          body: JSON.stringify({ email, redirect_to: RETURN }),
        };
        const started = performance.now();
        const res = await app.request("/login/email", init, both, ctx);
        times[kind].push(performance.now() - started);
        expect(res.status).toBe(202);
        pending.push(waitOnExecutionContext(ctx));
      }
    }
    await Promise.all(pending);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    // workerd's clock advances only on I/O, so the medians may be 0; then both are.
    const [k, u] = [median(times.known), median(times.unknown)];
    const ratio = Math.max(k, u) === 0 ? 1 : (Math.max(k, u) + 0.01) / (Math.min(k, u) + 0.01);
    expect(ratio).toBeLessThan(2);
  });

  it("answers 403 mfa_required for an account with a second factor on a proved address: the code is one factor", async () => {
    const user = await withTotp();
    const email = String(user.input.email);
    await env.DB.prepare("update users set email_verified_at = ? where id = ?").bind(Date.now(), user.body.id).run();
    expect((await ask(email)).status).toBe(202);
    const res = await verify(email, codeIn(await loginMail(email)));
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string }; mfa_token: string; mfa_methods: string[] };
    expect(body.error.code).toBe("mfa_required");
    expect(body.mfa_methods).toContain("totp");
    const done = await post(
      "/login/mfa",
      { mfa_token: body.mfa_token, code: codeAt(user.secret, at(0)) },
      { bindings: both },
    );
    expect(done.status).toBe(200);
    const { amr } = claimsOf(((await done.json()) as { token: string }).token) as { amr: string[] };
    expect(amr[0]).toBe("otp");
    expect(amr).toContain("mfa");
  });

  it("removes factors enrolled while the address was never proved (the first proof), then signs in", async () => {
    const user = await withTotp();
    const email = String(user.input.email);
    expect((await ask(email)).status).toBe(202);
    const res = await verify(email, codeIn(await loginMail(email)));
    expect(res.status).toBe(200);
    expect(await row("select count(*) as n from totp_factors where user_id = ?", user.body.id)).toEqual({ n: 0 });
  });

  it("signs in an unverified address under REQUIRE_EMAIL_VERIFICATION: the code proved it", async () => {
    const user = await register({}, requireVerified);
    expect((await ask(user.input.email, requireVerified)).status).toBe(202);
    const res = await verify(user.input.email, codeIn(await loginMail(user.input.email)), requireVerified);
    expect(res.status).toBe(200);
  });

  it("counts wrong codes toward the address's lockout, and refuses the right code while locked (429)", async () => {
    const { email, input, code } = await asked(lockFive);
    const wrong = code === "000000" ? "000001" : "000000";
    for (let i = 0; i < 4; i++) expect((await verify(email, wrong, lockFive)).status).toBe(400);
    // The 5th failure is a wrong password: both count toward the same lockout.
    expect((await post("/login", { email, password: "wrong-password" }, { bindings: lockFive })).status).toBe(400);
    const locked = await verify(email, code, lockFive);
    expect(locked.status).toBe(429);
    expect(await errorCode(locked)).toBe("rate_limited");
    const password = await post("/login", { email, password: input.password }, { bindings: lockFive });
    expect(password.status).toBe(429);
    // The refused request checked nothing, so it took none of the code's tries: the code
    // (4 of 5 tries taken) still works once the lock has run out.
    await env.DB.prepare("update login_failures set locked_until = ? where email = ?")
      .bind(Date.now() - 1, email)
      .run();
    expect((await verify(email, code, lockFive)).status).toBe(200);
  });

  it("refuses a redirect_to outside SOCIAL_REDIRECT_ORIGINS, and none with EMAIL_LOGIN=link (400 invalid_redirect)", async () => {
    const user = await register({}, both);
    for (const redirect_to of [
      "https://evil.example/x",
      `${APP}.evil.test/`,
      `https://x@app.example.com/`,
      "/relative",
    ]) {
      const res = await ask(user.input.email, both, { redirect_to });
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("invalid_redirect");
    }
    const missing = await ask(user.input.email, linkOnly, {});
    expect(missing.status).toBe(400);
    expect(await errorCode(missing)).toBe("invalid_redirect");
    await expectMailCount(user.input.email, 1); // the verification mail only
  });

  it("mails the code alone under `both` without redirect_to, and the link alone under `link`", async () => {
    const a = await asked(both, {});
    expect(a.code).toMatch(/^\d{6}$/);
    expect(a.link).toBe("");
    const b = await asked(linkOnly);
    expect(b.mail.subject).toBe("Edge <Auth> & Co: your sign-in link");
    expect(b.link).toMatch(/^[\w-]{43}$/);
    expect(b.mail.text).not.toContain("sign-in code");
  });

  it("refuses malformed requests with 400 invalid_input", async () => {
    const res = await post("/login/email", { redirect_to: RETURN }, { bindings: both });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_input");
    const verifyRes = await post("/login/email/verify", { email: uniqueEmail() }, { bindings: both });
    expect(verifyRes.status).toBe(400);
    expect(await errorCode(verifyRes)).toBe("invalid_input");
  });

  it("limits POST /login/email per IP (the mail limit) and the code per IP (the login limit)", async () => {
    const ip = clientIp();
    let status = 0;
    for (let i = 0; i < 45 && status !== 429; i++) status = (await ask(uniqueEmail("limited"), both, {}, ip)).status;
    expect(status).toBe(429);
    const verifyIp = clientIp();
    let res: Response | undefined;
    for (let i = 0; i < 210; i++) {
      res = await post(
        "/login/email/verify",
        { email: "x".repeat(300), code: "000000" },
        { bindings: both, ip: verifyIp },
      );
      if (res.status === 429) break;
    }
    expect(res?.status).toBe(429);
    expect(await errorCode(res as Response)).toBe("rate_limited");
  }, 30_000);
});

describe("the link", () => {
  it("signs in via its page then its button: 302 to redirect_to with a one-time code for /login/exchange", async () => {
    const { body: user, link } = await asked();
    const shown = await page(link);
    expect(shown.status).toBe(200);
    expect(shown.headers.get("cache-control")).toBe("no-store");
    expect(shown.headers.get("content-security-policy")).toContain(`form-action 'self' ${APP}`);
    const html = await shown.text();
    expect(html).toContain('<form method="post" action="/login/email/link">');
    expect(html).toContain(">Sign in</button>");
    const res = await press(link);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(RETURN);
    expect([...location.searchParams.keys()]).toEqual(["code"]);
    expect(location.href).not.toContain(link);
    const signedIn = await exchange(location.searchParams.get("code") ?? "");
    expect(signedIn.status).toBe(200);
    const body = (await signedIn.json()) as Json & { token: string };
    expect(body.id).toBe(user.id);
    expect(claimsOf(body.token).amr).toEqual(["otp"]);
    const events = (await auditRowsOf(String(user.id))).map(({ type, details }) => [type, details]);
    expect(events).toContainEqual(["email_login", '{"method":"link"}']);
  });

  it("survives a scanner: GET and HEAD three times each spend nothing; the person's POST still signs in", async () => {
    const { link, email } = await asked();
    for (let i = 0; i < 3; i++) {
      const head = await page(link, "HEAD");
      expect(head.status).toBe(200);
      expect(await head.text()).toBe("");
      expect((await page(link)).status).toBe(200);
    }
    const res = await press(link);
    expect(res.status).toBe(302);
    expect((await exchange(new URL(res.headers.get("location") ?? "").searchParams.get("code") ?? "")).status).toBe(
      200,
    );
    // The code of the same mail went with the link.
    expect((await verify(email, (await loginMail(email)).text.match(/code: (\d{6})/)?.[1] ?? "")).status).toBe(400);
  });

  it("works once: a used link's POST and GET show a page that says so and offers a new one", async () => {
    const { link } = await asked();
    expect((await press(link)).status).toBe(302);
    const again = await press(link);
    expect(again.status).toBe(400);
    const html = await again.text();
    expect(html).toContain("This sign-in link has expired or was already used");
    expect(html).toContain("Send me a new link");
    expect(html).toContain(JSON.stringify({ redirect_to: RETURN }));
    expect(html).not.toContain(link);
    const shown = await page(link);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain("expired or was already used");
  });

  it("shows the expired page for an expired link, an unknown token and none", async () => {
    const { link, body: user } = await asked();
    await env.DB.prepare("update single_use_tokens set expires_at = ? where user_id = ? and purpose = 'email_login'")
      .bind(Date.now() - 1000, user.id)
      .run();
    for (const token of [link, "x".repeat(43), ""]) {
      expect(await (await page(token)).text()).toContain("expired or was already used");
      expect((await press(token)).status).toBe(400);
    }
  });

  it("is CSRF-checked: no Origin, another site's, or a cross-site fetch is 403 forbidden and spends nothing", async () => {
    const { link } = await asked();
    const attempts: Record<string, string>[] = [
      {},
      { origin: "https://evil.example" },
      { "sec-fetch-site": "cross-site" },
      { origin: "null" },
    ];
    for (const headers of attempts) {
      const res = await press(link, headers);
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe("forbidden");
    }
    expect((await press(link, { "sec-fetch-site": "same-origin" })).status).toBe(302);
  });

  it("takes a form only (415 otherwise) and at most 16 KiB (413)", async () => {
    const { link } = await asked();
    const json = await request(
      "/login/email/link",
      {
        method: "POST",
        headers: { ...SAME_ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ token: link }),
      },
      both,
    );
    expect(json.status).toBe(415);
    expect(await errorCode(json)).toBe("unsupported_media_type");
    const big = await request(
      "/login/email/link",
      {
        method: "POST",
        headers: { ...SAME_ORIGIN, "content-type": "application/x-www-form-urlencoded" },
        body: `token=${"x".repeat(17 * 1024)}`,
      },
      both,
    );
    expect(big.status).toBe(413);
    expect(await errorCode(big)).toBe("payload_too_large");
    expect((await press(link)).status).toBe(302);
  });

  it("dies with a disabled account", async () => {
    const { link, body: user } = await asked();
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(user.id).run();
    expect((await press(link)).status).toBe(400);
  });
});

describe("EMAIL_LOGIN", () => {
  it("answers 404 not_found on the routes of the modes it leaves off", async () => {
    const email = uniqueEmail();
    const cases: [string, string, object][] = [
      ["POST", "/login/email", env],
      ["POST", "/login/email/verify", env],
      ["GET", "/login/email/link", env],
      ["POST", "/login/email/link", env],
      ["POST", "/login/email/verify", linkOnly],
      ["GET", "/login/email/link", codeOnly],
      ["POST", "/login/email/link", codeOnly],
    ];
    for (const [method, path, bindings] of cases) {
      const init: RequestInit = {
        method,
        headers: { "content-type": "application/json", "cf-connecting-ip": clientIp() },
      };
      if (method === "POST") init.body = JSON.stringify({ email, code: "123456" });
      const res = await app.request(path, init, bindings);
      await note(method, path, res);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await errorCode(res)).toBe("not_found");
    }
    // Off means absent whatever the body: no 400 or 415 that would say the route exists.
    const odd: [string, string][] = [
      ["not json", "application/json"],
      ["{}", "text/plain"],
      ["[]", "application/json"],
    ];
    for (const [body, type] of odd) {
      for (const path of ["/login/email", "/login/email/verify"]) {
        const init = { method: "POST", headers: { "content-type": type, "cf-connecting-ip": clientIp() }, body };
        const res = await app.request(path, init, env);
        await note("POST", path, res);
        expect(res.status, `${path} ${body}`).toBe(404);
      }
    }
  });

  it("needs mail on, naming both settings, and EMAIL_LOGIN_KEY when on; TTL 1 to 60 minutes", () => {
    const problems = (vars: Record<string, unknown>) => {
      try {
        readConfig({ ...env, ...vars });
        return [];
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.problems;
      }
    };
    expect(problems({ EMAIL_LOGIN: "code", EMAIL_LOGIN_KEY: KEY })).toContain(
      "EMAIL_LOGIN=code needs MAIL_TRANSPORT smtp or cloudflare",
    );
    expect(problems({ ...withMail, EMAIL_LOGIN: "link" }).join("\n")).toMatch(/^EMAIL_LOGIN_KEY is not set/m);
    expect(problems({ ...withMail, EMAIL_LOGIN: "off" })).toEqual([]);
    expect(problems({ ...both, EMAIL_LOGIN_TTL: "61m" }).join("\n")).toContain("EMAIL_LOGIN_TTL");
    expect(problems({ ...both, EMAIL_LOGIN_TTL: "30s" }).join("\n")).toContain("EMAIL_LOGIN_TTL");
    expect(problems({ ...both, EMAIL_LOGIN: "sometimes" }).join("\n")).toContain("EMAIL_LOGIN");
    expect(readConfig({ ...both }).settings.EMAIL_LOGIN_TTL).toBe(600);
  });
});
