import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { auditRowsOf, bearer, errorOf, insertPasskeyRow, postJson, randomAddress, registered, send } from "./helpers";
import { at, atStepMiddle, codeAt, enrolling, START, withTotp } from "./totp";

// A stolen access token must not be an unlimited oracle for the account's password or
// second factor: every signed-in route that asks for one again counts a wrong answer
// toward the account's lockout (the login's, keyed by the email: LOCKOUT_AFTER=5 in the
// tests, then 1 min, doubling) and against the login's per-IP limit
// (test/rate-limit.test.ts), and audits it.

// Tests run at a faked time in the middle of a 30-second step (test/totp.ts).
atStepMiddle();

/** Each test from its own address, so the per-IP login limit never joins tests up. */
const client = (): Ip => ({ "cf-connecting-ip": randomAddress() });

/** Mail on, so POST /me/email gets as far as its password check. */
const withMail = {
  MAIL_TRANSPORT: "smtp",
  SMTP_URL: inject("smtpUrl"),
  MAIL_FROM: "Edge Auth <no-reply@edge-auth.test>",
  PUBLIC_URL: "https://auth.example.com",
};

type User = Awaited<ReturnType<typeof registered>>;
type Ip = Record<string, string>;

/** A signed-in re-check with the password `password`, for each route that asks for one. */
const PASSWORD_ROUTES: { purpose: string; send: (user: User, password: string, ip: Ip) => Promise<Response> }[] = [
  {
    purpose: "change_password",
    send: (user, password, ip) =>
      send("POST", "/me/password", user.token, { currentPassword: password, newPassword: "a new passphrase" }, ip),
  },
  { purpose: "delete_account", send: (user, password, ip) => send("DELETE", "/me", user.token, { password }, ip) },
  { purpose: "enrol_totp", send: (user, password, ip) => send("POST", "/me/mfa/totp", user.token, { password }, ip) },
  {
    purpose: "change_email",
    send: (user, password, ip) =>
      call("/me/email", user.token, { newEmail: `new-${crypto.randomUUID()}@example.com`, password }, ip, withMail),
  },
  {
    purpose: "delete_passkey",
    send: async (user, password, ip) => {
      const id = await insertPasskeyRow(user.body.id);
      return send("DELETE", `/me/passkeys/${id}`, user.token, { password }, ip);
    },
  },
];

/** A signed-in POST with bindings of its own (`send` takes the test's). */
function call(path: string, token: string, body: unknown, headers: Ip, overrides: Partial<Cloudflare.Env>) {
  return postJson(path, body, { ...bearer(token), ...headers }, overrides);
}

async function expectLocked(res: Response, what: string) {
  expect(res.status, what).toBe(429);
  expect((await errorOf(res)).code).toBe("rate_limited");
  expect(Number(res.headers.get("retry-after")), what).toBeGreaterThan(0);
}

/** The stored audit events of `userId` of `type`, their details parsed. */
async function events(userId: string, type: string) {
  return (await auditRowsOf(userId))
    .filter((row) => row.type === type)
    .map((row) => JSON.parse(row.details ?? "{}") as Record<string, unknown>);
}

async function failuresOf(email: string) {
  return env.DB.prepare("select failures from login_failures where email = ?")
    .bind(email)
    .first<{ failures: number }>();
}

describe("password re-checks on signed-in routes are counted", () => {
  for (const route of PASSWORD_ROUTES) {
    it(`${route.purpose}: five wrong passwords lock the account; then even the right one gets 429`, async () => {
      const ip = client();
      const user = await registered({}, ip);
      for (let i = 0; i < 5; i++) {
        const wrong = await route.send(user, `not the password ${i}`, ip);
        expect((await errorOf(wrong)).code).toBe("invalid_credentials");
      }
      await expectLocked(await route.send(user, user.input.password, ip), route.purpose);
      expect(await events(user.body.id, "password_check_failed")).toEqual(Array(5).fill({ purpose: route.purpose }));
      expect(await events(user.body.id, "account_locked")).toEqual([{ seconds: 60 }]);
      // The same lock as the login's: the email is locked there too.
      await expectLocked(await postJson("/login", user.input, ip), "login");
    });
  }

  it("a right password forgets the failures, as a login does; a lock from failed logins holds here too", async () => {
    const ip = client();
    const user = await registered({}, ip);
    for (let i = 0; i < 3; i++) await send("DELETE", "/me", user.token, { password: `wrong ${i}` }, ip);
    expect(await failuresOf(user.input.email)).toEqual({ failures: 3 });
    const enrol = await send("POST", "/me/mfa/totp", user.token, { password: user.input.password }, ip);
    expect(enrol.status).toBe(200);
    expect(await failuresOf(user.input.email)).toBeNull();

    for (let i = 0; i < 5; i++) await postJson("/login", { email: user.input.email, password: `wrong ${i}` }, ip);
    await expectLocked(await send("DELETE", "/me", user.token, { password: user.input.password }, ip), "delete");
    // Once the lock has run out, the right password works again.
    vi.setSystemTime(START + 61_000);
    expect((await send("DELETE", "/me", user.token, { password: user.input.password }, ip)).status).toBe(204);
  });
});

describe("second-factor checks on signed-in routes are counted", () => {
  it("ten wrong codes, then the right one: POST /me/mfa/recovery-codes refuses it with 429 and mints nothing", async () => {
    const ip = client();
    const user = await withTotp(ip);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await send("POST", "/me/mfa/recovery-codes", user.token, { code: `00000${i % 10}` }, ip);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429, 429, 429, 429]);
    const right = codeAt(user.secret, at(0));
    await expectLocked(await send("POST", "/me/mfa/recovery-codes", user.token, { code: right }, ip), "right code");
    // Nothing was minted: the old recovery codes are all still there, unused.
    const left = await env.DB.prepare("select count(*) as n from recovery_codes where user_id = ? and used_at is null")
      .bind(user.body.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(10);
    expect(await events(user.body.id, "mfa_failed")).toEqual(
      Array(5).fill({ factor: "totp", purpose: "regenerate_recovery_codes" }),
    );
    expect(await events(user.body.id, "account_locked")).toEqual([{ seconds: 60 }]);
    // After the lock, the right code works and the failures are forgotten.
    vi.setSystemTime(START + 61_000);
    const later = await send("POST", "/me/mfa/recovery-codes", user.token, { code: codeAt(user.secret, at(0)) }, ip);
    expect(later.status).toBe(200);
    expect(await failuresOf(user.input.email)).toBeNull();
  });

  const CODE_ROUTES: {
    purpose: string;
    factor: string;
    send: (user: Awaited<ReturnType<typeof withTotp>>, code: string, ip: Ip) => Promise<Response>;
  }[] = [
    {
      purpose: "disable_totp",
      factor: "totp",
      send: (user, code, ip) => send("DELETE", "/me/mfa/totp", user.token, { password: user.input.password, code }, ip),
    },
    {
      purpose: "disable_totp",
      factor: "recovery_code",
      send: (user, code, ip) =>
        send("DELETE", "/me/mfa/totp", user.token, { password: user.input.password, code: `${code}-recovery` }, ip),
    },
    {
      purpose: "delete_passkey",
      factor: "totp",
      send: async (user, code, ip) => {
        const id = await insertPasskeyRow(user.body.id);
        return send("DELETE", `/me/passkeys/${id}`, user.token, { code }, ip);
      },
    },
  ];
  for (const route of CODE_ROUTES) {
    it(`${route.purpose} with a wrong ${route.factor}: counted, audited as mfa_failed (never the code), locked at five`, async () => {
      const ip = client();
      const user = await withTotp(ip);
      for (let i = 0; i < 5; i++) {
        expect((await errorOf(await route.send(user, `12345${i}`, ip))).code).toBe("invalid_credentials");
      }
      await expectLocked(await route.send(user, codeAt(user.secret, at(0)), ip), route.purpose);
      const failed = await events(user.body.id, "mfa_failed");
      expect(failed).toEqual(Array(5).fill({ factor: route.factor, purpose: route.purpose }));
      expect(JSON.stringify(await auditRowsOf(user.body.id))).not.toContain("12345");
    });
  }

  it("confirm_totp: wrong codes for a pending enrolment count and lock too", async () => {
    const ip = client();
    const user = await enrolling(ip);
    for (let i = 0; i < 5; i++) {
      const res = await send("POST", "/me/mfa/totp/confirm", user.token, { code: `65432${i}` }, ip);
      expect((await errorOf(res)).code).toBe("invalid_credentials");
    }
    const right = codeAt(user.secret, at(0));
    await expectLocked(await send("POST", "/me/mfa/totp/confirm", user.token, { code: right }, ip), "confirm");
    expect(await events(user.body.id, "mfa_failed")).toEqual(
      Array(5).fill({ factor: "totp", purpose: "confirm_totp" }),
    );
  });

  it("a wrong answer at POST /login/mfa is audited as mfa_failed too, and the lock it causes", async () => {
    const ip = client();
    const user = await withTotp(ip);
    const login = await postJson("/login", user.input, ip);
    const { mfa_token } = (await login.json()) as { mfa_token: string };
    for (let i = 0; i < 5; i++) await postJson("/login/mfa", { mfa_token, code: `11111${i}` }, ip);
    expect(await events(user.body.id, "mfa_failed")).toEqual(Array(5).fill({ factor: "totp", purpose: "login" }));
    expect(await events(user.body.id, "account_locked")).toEqual([{ seconds: 60 }]);
  });
});

describe("while the account is locked", () => {
  it("every signed-in route that re-checks a secret answers 429 with Retry-After, even to the right one", async () => {
    const ip = client();
    const user = await withTotp(ip);
    const pending = await enrolling(ip);
    const passkey = await insertPasskeyRow(user.body.id);
    for (const locked of [user, pending]) {
      for (let i = 0; i < 5; i++) await postJson("/login", { email: locked.input.email, password: `wrong ${i}` }, ip);
    }
    const password = user.input.password;
    const code = () => codeAt(user.secret, at(0));
    const attempts: [string, () => Promise<Response>][] = [
      [
        "change password",
        () => send("POST", "/me/password", user.token, { currentPassword: password, newPassword: "new pass 1234" }, ip),
      ],
      ["delete account", () => send("DELETE", "/me", user.token, { password }, ip)],
      ["enrol TOTP", () => send("POST", "/me/mfa/totp", user.token, { password }, ip)],
      [
        "confirm TOTP",
        () => send("POST", "/me/mfa/totp/confirm", pending.token, { code: codeAt(pending.secret, at(0)) }, ip),
      ],
      ["disable TOTP", () => send("DELETE", "/me/mfa/totp", user.token, { password, code: code() }, ip)],
      ["recovery codes", () => send("POST", "/me/mfa/recovery-codes", user.token, { code: code() }, ip)],
      ["passkey, password", () => send("DELETE", `/me/passkeys/${passkey}`, user.token, { password }, ip)],
      ["passkey, code", () => send("DELETE", `/me/passkeys/${passkey}`, user.token, { code: code() }, ip)],
      ["change email", () => call("/me/email", user.token, { newEmail: "x@example.com", password }, ip, withMail)],
    ];
    for (const [what, attempt] of attempts) await expectLocked(await attempt(), what);
  });
});
