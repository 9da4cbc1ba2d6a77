import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { getConfig } from "../src/platform/config";
import { sendMail } from "../src/platform/mail/send";
import { auditRowsOf, bearer, claimsOf, type Json, newUser, promote, uniqueEmail } from "./helpers";
import {
  clientIp,
  errorCode,
  expectMailCount,
  inbox,
  linkToken,
  login,
  me,
  PUBLIC_URL,
  post,
  register,
  request,
  withMail,
} from "./mail";
import { mailsTo } from "./support/mail-box";

const mailApi = inject("mailApi");
const quickCooldown = { ...withMail, MAIL_COOLDOWN: "1s" };
const requireVerified = { ...withMail, REQUIRE_EMAIL_VERIFICATION: "true" };
const withAppUrl = { ...withMail, APP_URL: "https://app.example.com/account" };
const mailOff = { ...env, MAIL_TRANSPORT: "none" };
const deadSmtp = { ...withMail, SMTP_URL: "smtp://127.0.0.1:9" };
const cloudflare = { ...withMail, MAIL_TRANSPORT: "cloudflare", SMTP_URL: "" };

type Bindings = typeof withMail;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("mail delivery", () => {
  it("sends the verification mail on register over real SMTP: text and HTML, APP_NAME, link, lifetime, guidance", async () => {
    const { input } = await register();
    const [mail] = await inbox(input.email);
    expect(mail?.subject).toBe("Edge <Auth> & Co: confirm your email address");
    expect(mail?.from[0]).toMatchObject({ address: "no-reply@edge-auth.test", name: "Edge Auth" });
    expect(mail?.text).toContain(`${PUBLIC_URL}/email/verify?token=`);
    expect(mail?.text).toContain("24 hours");
    expect(mail?.text).toContain("If this wasn't you");
    expect(mail?.html).toContain(`href="${PUBLIC_URL}/email/verify?token=`);
    expect(mail?.html).toContain("Edge &lt;Auth&gt; &amp; Co");
    expect(linkToken(mail, "/email/verify")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("escapes names in the HTML part", async () => {
    const { input } = await register({ firstName: '<img src=x onerror="alert(1)">' });
    const [mail] = await inbox(input.email);
    expect(mail?.html).toContain("Hello &lt;img src=x onerror=&quot;alert(1)&quot;&gt;,");
    expect(mail?.html).not.toContain("<img");
    expect(mail?.text).toContain('Hello <img src=x onerror="alert(1)">,');
  });

  it("builds links from PUBLIC_URL only, never from Host, X-Forwarded-Host or Origin", async () => {
    const { input } = await register();
    const headers = {
      "content-type": "application/json",
      "cf-connecting-ip": clientIp(),
      host: "evil.example",
      "x-forwarded-host": "evil.example",
      origin: "https://evil.example",
    };
    const res = await request("http://evil.example/password/forgot", {
      method: "POST",
      headers,
      body: JSON.stringify({ email: input.email }),
    });
    expect(res.status).toBe(202);
    const mails = await inbox(input.email, 2);
    const reset = mails.find((mail) => mail.subject.endsWith("reset your password"));
    expect(reset?.text).toContain(`${PUBLIC_URL}/password/reset?token=`);
    expect(JSON.stringify(mails)).not.toContain("evil.example");
  });

  it("points links at APP_URL when it is set", async () => {
    const { input } = await register({}, withAppUrl);
    const [mail] = await inbox(input.email);
    expect(mail?.text).toContain("https://app.example.com/account/email/verify?token=");
  });

  it("logs a failed send without address, link or token, retries once, and still answers 202", async () => {
    const { input } = await register();
    const lines: string[] = [];
    const keep = (...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    };
    vi.spyOn(console, "warn").mockImplementation(keep);
    vi.spyOn(console, "error").mockImplementation(keep);
    const res = await post("/password/forgot", { email: input.email }, { bindings: deadSmtp });
    expect(res.status).toBe(202);
    const failures = lines.filter((line) => line.includes("mail_failed"));
    expect(failures).toHaveLength(2);
    expect(failures.map((line) => JSON.parse(line).attempt)).toEqual([1, 2]);
    expect(JSON.parse(failures[0] ?? "{}")).toMatchObject({ kind: "reset_password", domain: "example.com" });
    const logged = lines.join("\n");
    expect(logged).not.toContain(input.email);
    expect(logged).not.toContain("token=");
  });

  it("sends through the Cloudflare send_email binding (the local emulation)", async () => {
    const config = getConfig(cloudflare);
    expect(config.mail.transport).toBe("cloudflare");
    await expect(
      sendMail(cloudflare, config.mail, {
        to: "someone@example.com",
        subject: "Edge: hello",
        text: "hello",
        html: "<p>hello</p>",
      }),
    ).resolves.toBeUndefined();
    // And through a route: register's verification mail goes out with no failure logged.
    const lines: string[] = [];
    const keep = (...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    };
    vi.spyOn(console, "warn").mockImplementation(keep);
    vi.spyOn(console, "error").mockImplementation(keep);
    await register({}, cloudflare);
    expect(lines.filter((line) => line.includes("mail_failed"))).toEqual([]);
  });

  it("refuses a recipient or subject with a line break before anything is sent", async () => {
    const config = getConfig(withMail);
    for (const message of [
      { to: "a@example.com\r\nBcc: b@example.com", subject: "x" },
      { to: "a@example.com", subject: "x\nBcc: b@example.com" },
    ]) {
      await expect(sendMail(withMail, config.mail, { ...message, text: "t", html: "h" })).rejects.toThrow(
        /control character/,
      );
    }
  });

  it("answers 503 mail_unavailable on every mail route when MAIL_TRANSPORT is none", async () => {
    const { token } = await register({}, mailOff);
    const answers = [
      await post("/password/forgot", { email: uniqueEmail() }, { bindings: mailOff }),
      await post("/email/verify/resend", {}, { token, bindings: mailOff }),
      await post("/me/email", { newEmail: uniqueEmail(), password: "x" }, { token, bindings: mailOff }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(await errorCode(res)).toBe("mail_unavailable");
    }
  });
});

describe("email verification", () => {
  it("verifies with the mailed link: the page changes nothing, the POST does, once", async () => {
    const { input, token } = await register();
    expect(claimsOf(token).email_verified).toBe(false);
    const link = linkToken((await inbox(input.email))[0], "/email/verify");

    const page = await request(`/email/verify?token=${link}`, {});
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    const html = await page.text();
    expect(html).not.toContain(link);
    expect(((await (await me(token)).json()) as Json).email_verified).toBe(false);

    const first = await post("/email/verify", { token: link });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ email: input.email, email_verified: true });
    expect(((await (await me(token)).json()) as Json).email_verified).toBe(true);

    const again = await post("/email/verify", { token: link });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({
      error: { code: "invalid_link", message: "This link is invalid or has expired" },
    });
    const fresh = (await (await login(input.email, input.password)).json()) as { token: string };
    expect(claimsOf(fresh.token).email_verified).toBe(true);
  });

  it("shows email_verified to admins", async () => {
    const admin = await register();
    await promote(admin.body.id);
    const { body } = await register();
    const res = await request(`/admin/users/${body.id}`, { headers: bearer(admin.token) });
    expect(((await res.json()) as Json).email_verified).toBe(false);
  });

  it("lets exactly one of two concurrent confirmations of one link win", async () => {
    const { input } = await register();
    const link = linkToken((await inbox(input.email))[0], "/email/verify");
    const answers = await Promise.all([post("/email/verify", { token: link }), post("/email/verify", { token: link })]);
    expect(answers.map((res) => res.status).sort()).toEqual([200, 400]);
  });

  it("refuses bad, overlong, wrong-purpose and missing tokens", async () => {
    const { input } = await register();
    const link = linkToken((await inbox(input.email))[0], "/email/verify");
    for (const token of ["x".repeat(43), "A".repeat(129), "not base64url!", link.slice(0, 42)]) {
      const res = await post("/email/verify", { token });
      expect(res.status, token).toBe(400);
      expect(await errorCode(res)).toBe("invalid_link");
    }
    const wrongPurpose = await post("/password/reset", { token: link, newPassword: "a brand new passphrase" });
    expect(await errorCode(wrongPurpose)).toBe("invalid_link");
    expect(await errorCode(await post("/email/verify", {}))).toBe("invalid_input");
    // The link survived all that.
    expect((await post("/email/verify", { token: link })).status).toBe(200);
  });

  it("resends a link (killing the older one) at most once per MAIL_COOLDOWN, and not once verified", async () => {
    const { input, token } = await register({}, quickCooldown);
    const ip = clientIp();
    const first = linkToken((await inbox(input.email))[0], "/email/verify");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const resent = await post("/email/verify/resend", {}, { token, ip, bindings: quickCooldown });
    expect(resent.status).toBe(202);
    const again = await post("/email/verify/resend", {}, { token, ip, bindings: quickCooldown });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual(await resent.json());
    const mails = await inbox(input.email, 2);
    await expectMailCount(input.email, 2);
    expect(await errorCode(await post("/email/verify", { token: first }))).toBe("invalid_link");
    const second = linkToken(mails[1], "/email/verify");
    expect((await post("/email/verify", { token: second })).status).toBe(200);

    const done = await post("/email/verify/resend", {}, { token, ip, bindings: quickCooldown });
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ email_verified: true });
    await expectMailCount(input.email, 2);
  });

  it("with REQUIRE_EMAIL_VERIFICATION: register gives no tokens; the right password answers 403 until verified", async () => {
    const input = newUser();
    const res = await post("/register", input, { bindings: requireVerified });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(Object.keys(body).sort()).toEqual(["created_at", "email", "first_name", "id", "last_name"]);
    const wrong = await login(input.email, "not the password", requireVerified);
    expect(await errorCode(wrong)).toBe("invalid_credentials");
    const unverified = await login(input.email, input.password, requireVerified);
    expect(unverified.status).toBe(403);
    expect(await errorCode(unverified)).toBe("email_not_verified");
    const link = linkToken((await inbox(input.email))[0], "/email/verify");
    expect((await post("/email/verify", { token: link }, { bindings: requireVerified })).status).toBe(200);
    expect((await login(input.email, input.password, requireVerified)).status).toBe(200);
  });
});

describe("password reset", () => {
  it("answers every address the same 202, and mails only known, enabled accounts", async () => {
    const known = await register();
    const disabled = await register();
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(disabled.body.id).run();
    const locked = await register();
    await env.DB.prepare(
      "insert into login_failures (email, failures, last_failure_at, locked_until) values (?, 9, ?, ?)",
    )
      .bind(locked.input.email, Date.now(), Date.now() + 3_600_000)
      .run();
    const unknown = uniqueEmail("nobody");
    const answers = [];
    for (const email of [known.input.email, disabled.input.email, locked.input.email, unknown]) {
      const res = await post("/password/forgot", { email });
      answers.push({ status: res.status, body: await res.text(), type: res.headers.get("content-type") });
    }
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0]?.status).toBe(202);
    const resets = async (email: string) =>
      (await mailsTo(mailApi, email)).filter((mail) => mail.subject.endsWith("reset your password"));
    await inbox(known.input.email, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await resets(known.input.email)).toHaveLength(1);
    expect(await resets(locked.input.email)).toHaveLength(1);
    expect(await resets(disabled.input.email)).toHaveLength(0);
    expect(await mailsTo(mailApi, unknown)).toHaveLength(0);
  });

  it("sends at most one reset mail per address per MAIL_COOLDOWN, and the first link keeps working", async () => {
    const { input } = await register();
    for (let i = 0; i < 3; i++) expect((await post("/password/forgot", { email: input.email })).status).toBe(202);
    const mails = await inbox(input.email, 2);
    await expectMailCount(input.email, 2);
    const link = linkToken(mails[1], "/password/reset");
    expect((await post("/password/reset", { token: link, newPassword: "a brand new passphrase" })).status).toBe(204);
  });

  it("resets: every session revoked, lockout cleared, address verified, new password works, link dead", async () => {
    const { input, token, body } = await register();
    await env.DB.prepare(
      "insert into login_failures (email, failures, last_failure_at, locked_until) values (?, 9, ?, ?)",
    )
      .bind(input.email, Date.now(), Date.now() + 3_600_000)
      .run();
    expect((await post("/password/forgot", { email: input.email })).status).toBe(202);
    const mail = (await inbox(input.email, 2)).find((each) => each.subject.endsWith("reset your password"));
    expect(mail?.text).toContain("1 hour");
    const link = linkToken(mail, "/password/reset");

    const page = await request(`/password/reset?token=${link}`, {});
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('autocomplete="new-password"');

    const weak = await post("/password/reset", { token: link, newPassword: "password" });
    expect(weak.status).toBe(400);
    expect(await errorCode(weak)).toBe("invalid_input");

    const newPassword = "a brand new passphrase";
    const res = await post("/password/reset", { token: link, newPassword });
    expect(res.status).toBe(204);
    expect((await me(token)).status).toBe(401);
    expect((await post("/token/refresh", { refresh_token: body.refresh_token })).status).toBe(401);
    expect(await errorCode(await login(input.email, input.password))).toBe("invalid_credentials");
    const fresh = await login(input.email, newPassword);
    expect(fresh.status).toBe(200);
    const account = (await (await me(((await fresh.json()) as { token: string }).token)).json()) as Json;
    expect(account.email_verified).toBe(true);
    expect(await errorCode(await post("/password/reset", { token: link, newPassword: "yet another passphrase" }))).toBe(
      "invalid_link",
    );
  });

  it("a new reset link kills the older one; a password change through /me/password kills them all", async () => {
    const { input, token } = await register({}, quickCooldown);
    await post("/password/forgot", { email: input.email }, { bindings: quickCooldown });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await post("/password/forgot", { email: input.email }, { bindings: quickCooldown });
    const resets = (await inbox(input.email, 3)).filter((mail) => mail.subject.endsWith("reset your password"));
    expect(resets).toHaveLength(2);
    const [older, newer] = resets.map((mail) => linkToken(mail, "/password/reset"));
    expect(
      await errorCode(await post("/password/reset", { token: older, newPassword: "a brand new passphrase" })),
    ).toBe("invalid_link");
    const changed = await post(
      "/me/password",
      { currentPassword: input.password, newPassword: "another good passphrase" },
      { token, bindings: quickCooldown },
    );
    expect(changed.status).toBe(200);
    expect(
      await errorCode(await post("/password/reset", { token: newer, newPassword: "a brand new passphrase" })),
    ).toBe("invalid_link");
  });
});

describe("email change", () => {
  it("re-checks the password, mails a link to the new address and a notice to the old; confirming moves the account", async () => {
    const { input, token } = await register();
    const other = await login(input.email, input.password);
    const otherToken = ((await other.json()) as { token: string }).token;
    const newEmail = uniqueEmail("moved");

    const wrong = await post("/me/email", { newEmail, password: "not the password" }, { token });
    expect(await errorCode(wrong)).toBe("invalid_credentials");
    const same = await post("/me/email", { newEmail: input.email, password: input.password }, { token });
    expect(await errorCode(same)).toBe("invalid_input");

    const res = await post("/me/email", { newEmail: newEmail.toUpperCase(), password: input.password }, { token });
    expect(res.status).toBe(202);
    const [confirmation] = await inbox(newEmail);
    expect(confirmation?.text).toContain(`${PUBLIC_URL}/email/change/confirm?token=`);
    const notices = await inbox(input.email, 2);
    expect(notices[1]?.subject).toContain("a change of your email address was requested");
    expect(notices[1]?.text).not.toContain("token=");
    expect(notices[1]?.text).not.toContain(newEmail);

    const link = linkToken(confirmation, "/email/change/confirm");
    expect((await request(`/email/change/confirm?token=${link}`, {})).status).toBe(200);
    expect(((await (await me(token)).json()) as Json).email).toBe(input.email);

    const confirmed = await post("/email/change/confirm", { token: link });
    expect(confirmed.status).toBe(200);
    const account = (await confirmed.json()) as Json;
    expect(account).toMatchObject({ email: newEmail, email_verified: true });
    expect(account).not.toHaveProperty("token");
    // The session that asked goes on; the others end.
    expect((await me(token)).status).toBe(200);
    expect((await me(otherToken)).status).toBe(401);
    expect((await login(newEmail, input.password)).status).toBe(200);
    expect(await errorCode(await login(input.email, input.password))).toBe("invalid_credentials");
    const changed = await inbox(input.email, 3);
    expect(changed[2]?.subject).toContain("your email address was changed");
    expect(await errorCode(await post("/email/change/confirm", { token: link }))).toBe("invalid_link");
  });

  it("lets one of two concurrent confirmations of a change link win", async () => {
    const { input, token } = await register();
    const newEmail = uniqueEmail("raced");
    await post("/me/email", { newEmail, password: input.password }, { token });
    const link = linkToken((await inbox(newEmail))[0], "/email/change/confirm");
    const answers = await Promise.all([
      post("/email/change/confirm", { token: link }),
      post("/email/change/confirm", { token: link }),
    ]);
    expect(answers.map((res) => res.status).sort()).toEqual([200, 400]);
  });

  it("answers a taken address with the same 202 and mails nobody", async () => {
    const { input, token } = await register();
    const taken = await register();
    const free = await post("/me/email", { newEmail: uniqueEmail("free"), password: input.password }, { token });
    const { token: token2, input: input2 } = await register();
    const busy = await post("/me/email", { newEmail: taken.input.email, password: input2.password }, { token: token2 });
    expect(busy.status).toBe(free.status);
    expect(await busy.text()).toBe(await free.text());
    await expectMailCount(taken.input.email, 1);
    await expectMailCount(input2.email, 1);
  });

  it("answers 409 user_exists when the address was taken between request and confirmation", async () => {
    const { input, token } = await register();
    const newEmail = uniqueEmail("contested");
    expect((await post("/me/email", { newEmail, password: input.password }, { token })).status).toBe(202);
    const link = linkToken((await inbox(newEmail))[0], "/email/change/confirm");
    await register({ email: newEmail });
    const res = await post("/email/change/confirm", { token: link });
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe("user_exists");
    expect(((await (await me(token)).json()) as Json).email).toBe(input.email);
  });
});

describe("audit events of the email flows", () => {
  /** The user's stored events of `type`; none of them holds any of `secrets` or a link. */
  async function eventsOf(userId: string, type: string, secrets: string[]) {
    const rows = (await auditRowsOf(userId)).filter((row) => row.type === type);
    const stored = JSON.stringify(rows);
    for (const secret of [...secrets, PUBLIC_URL, "token="]) expect(stored).not.toContain(secret);
    return rows;
  }

  it("records email_verified once, by the user, from where the link was used", async () => {
    const { input, body } = await register();
    const link = linkToken((await inbox(input.email))[0], "/email/verify");
    const ip = clientIp();
    expect((await post("/email/verify", { token: link }, { ip })).status).toBe(200);
    expect((await post("/email/verify", { token: link })).status).toBe(400);
    const rows = await eventsOf(body.id, "email_verified", [link, input.password]);
    expect(rows).toEqual([
      expect.objectContaining({
        actor_type: "user",
        actor_id: body.id,
        ip,
        details: null,
        request_id: expect.any(String),
      }),
    ]);
  });

  it("records password_reset_requested only when a known, enabled account gets a link, then password_reset", async () => {
    const known = await register();
    const disabled = await register();
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(disabled.body.id).run();
    const unknown = uniqueEmail("nobody");
    // Three requests within MAIL_COOLDOWN: one link, one event.
    for (const email of [known.input.email, known.input.email, known.input.email, disabled.input.email, unknown]) {
      expect((await post("/password/forgot", { email })).status).toBe(202);
    }
    const mail = (await inbox(known.input.email, 2)).find((each) => each.subject.endsWith("reset your password"));
    const link = linkToken(mail, "/password/reset");
    const requested = await eventsOf(known.body.id, "password_reset_requested", [link]);
    expect(requested).toEqual([
      expect.objectContaining({ actor_type: "user", actor_id: known.body.id, details: null }),
    ]);
    expect(await eventsOf(disabled.body.id, "password_reset_requested", [])).toEqual([]);
    const { results } = await env.DB.prepare("select count(*) as n from audit_events where instr(details, ?) > 0")
      .bind(unknown)
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(0);

    const newPassword = "a brand new passphrase";
    expect((await post("/password/reset", { token: link, newPassword: "password" })).status).toBe(400);
    expect((await post("/password/reset", { token: link, newPassword })).status).toBe(204);
    expect((await post("/password/reset", { token: link, newPassword: "yet another passphrase" })).status).toBe(400);
    const reset = await eventsOf(known.body.id, "password_reset", [link, newPassword, known.input.password]);
    expect(reset).toEqual([expect.objectContaining({ actor_type: "user", actor_id: known.body.id, details: null })]);
  });

  it("records email_changed without details (neither address, never the link); a change that lost writes nothing", async () => {
    const { input, token, body } = await register();
    const newEmail = uniqueEmail("moved");
    expect((await post("/me/email", { newEmail, password: input.password }, { token })).status).toBe(202);
    const link = linkToken((await inbox(newEmail))[0], "/email/change/confirm");
    expect((await post("/email/change/confirm", { token: link })).status).toBe(200);
    expect((await post("/email/change/confirm", { token: link })).status).toBe(400);
    const rows = await eventsOf(body.id, "email_changed", [link, newEmail, input.email]);
    expect(rows).toEqual([expect.objectContaining({ actor_type: "user", actor_id: body.id, details: null })]);

    const contested = await register();
    const taken = uniqueEmail("contested");
    const asked = await post(
      "/me/email",
      { newEmail: taken, password: contested.input.password },
      { token: contested.token },
    );
    expect(asked.status).toBe(202);
    const lost = linkToken((await inbox(taken))[0], "/email/change/confirm");
    await register({ email: taken });
    expect((await post("/email/change/confirm", { token: lost })).status).toBe(409);
    expect(await eventsOf(contested.body.id, "email_changed", [lost])).toEqual([]);
  });
});

describe("abuse limits", () => {
  it("limits the mail routes per IP with 429 and Retry-After", async () => {
    // 45 requests: however the limiter's fixed one-minute windows fall, one of them sees
    // more than its 20.
    const ip = clientIp();
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) {
      const res = await post("/password/forgot", { email: uniqueEmail("limited") }, { ip });
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get("retry-after")).toBe("60");
    }
    expect(statuses[0]).toBe(202);
    expect(statuses).toContain(429);
    expect(new Set(statuses)).toEqual(new Set([202, 429]));
    // One limit for every route that mails: the same address is refused on the others too.
    const { input, token } = await register();
    while ((await post("/password/forgot", { email: uniqueEmail("limited") }, { ip })).status !== 429);
    const resend = await post("/email/verify/resend", {}, { token, ip });
    expect(resend.status).toBe(429);
    expect(await errorCode(resend)).toBe("rate_limited");
    const change = await post("/me/email", { newEmail: uniqueEmail("moved"), password: input.password }, { token, ip });
    expect(change.status).toBe(429);
    expect(await errorCode(change)).toBe("rate_limited");
  });
});

describe("mail configuration", () => {
  it("fails closed: mail on without PUBLIC_URL, plain http in production, or a header-unsafe sender", async () => {
    const production = { ...withMail, ENVIRONMENT: "", BCRYPT_COST: "10" };
    for (const bad of [
      { ...withMail, PUBLIC_URL: "" },
      { ...production, PUBLIC_URL: "http://auth.example.com" },
      { ...withMail, MAIL_FROM: "Evil\r\nBcc: x@example.com <a@example.com>" },
      { ...withMail, APP_NAME: "Evil\nBcc: x" },
      { ...withMail, SMTP_URL: "" },
      { ...withMail, MAIL_TRANSPORT: "carrier-pigeon" },
      { ...env, REQUIRE_EMAIL_VERIFICATION: "true" },
    ] as Bindings[]) {
      const res = await post("/password/forgot", { email: uniqueEmail() }, { bindings: bad });
      expect(res.status).toBe(500);
      expect(await errorCode(res)).toBe("server_misconfigured");
    }
    expect(getConfig({ ...production, PUBLIC_URL: "https://auth.example.com/" }).mail.publicUrl).toBe(
      "https://auth.example.com",
    );
  });
});
