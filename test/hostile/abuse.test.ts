import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, errorOf, newUser, postJson, registered, uniqueEmail } from "../helpers";

/** A fresh client address, so each test has its own per-IP budget. */
const ip = () => `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

function login(email: string, password: string, headers: Record<string, string> = {}) {
  return postJson("/login", { email, password }, { "CF-Connecting-IP": ip(), ...headers });
}

async function expectLocked(res: Response) {
  expect(res.status).toBe(429);
  expect((await errorOf(res)).code).toBe("rate_limited");
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe("per-email lockout", () => {
  it("locks an account after 5 failures in a row: even the right password gets 429", async () => {
    const { input } = await registered();
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await login(input.email, "wrong-password")).status).toBe(400);
    }
    await expectLocked(await login(input.email, input.password));
    await expectLocked(await login(input.email, "wrong-password"));
  });

  it("counts every letter-case and spacing variant of an email together", async () => {
    const { input } = await registered({ email: uniqueEmail("Case") });
    const variants = [
      input.email,
      input.email.toUpperCase(),
      ` ${input.email} `,
      input.email.toLowerCase(),
      input.email,
    ];
    for (const email of variants) expect((await login(email, "wrong-password")).status).toBe(400);
    await expectLocked(await login(input.email.toUpperCase(), input.password));
  });

  it("counts unknown emails exactly like known ones, so a lockout reveals nothing", async () => {
    const unknown = uniqueEmail("ghost");
    const { input } = await registered();
    const answers: string[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const a = await login(unknown, "wrong-password");
      const b = await login(input.email, "wrong-password");
      answers.push(`${a.status}:${await a.text()}`, `${b.status}:${(await b.text()).length}`);
      expect(a.status).toBe(b.status);
    }
    expect(answers.at(-2)).toMatch(/^429:/);
  });

  it("doubles the lock on each further failure, up to the cap", async () => {
    const { input } = await registered();
    for (let attempt = 0; attempt < 4; attempt++) await login(input.email, "wrong-password");
    const armed = await env.DB.prepare("select locked_until from login_failures where email = ?")
      .bind(input.email)
      .first<{ locked_until: number | null }>();
    expect(armed?.locked_until).toBeNull();
    // The 5th failure locks for a minute; after it runs out, the next failure locks for two.
    await login(input.email, "wrong-password");
    const first = await env.DB.prepare("select locked_until, last_failure_at from login_failures where email = ?")
      .bind(input.email)
      .first<{ locked_until: number; last_failure_at: number }>();
    expect((first?.locked_until ?? 0) - (first?.last_failure_at ?? 0)).toBe(60_000);
    await env.DB.prepare("update login_failures set locked_until = 0 where email = ?").bind(input.email).run();
    await login(input.email, "wrong-password");
    const second = await env.DB.prepare("select locked_until, last_failure_at from login_failures where email = ?")
      .bind(input.email)
      .first<{ locked_until: number; last_failure_at: number }>();
    expect((second?.locked_until ?? 0) - (second?.last_failure_at ?? 0)).toBe(120_000);
  });

  it("forgets failures after a successful login", async () => {
    const { input } = await registered();
    for (let attempt = 0; attempt < 4; attempt++) await login(input.email, "wrong-password");
    expect((await login(input.email, input.password)).status).toBe(200);
    for (let attempt = 0; attempt < 4; attempt++) expect((await login(input.email, "wrong-password")).status).toBe(400);
  });

  it("never blocks registering an email that collected failures, and the new owner can log in", async () => {
    const email = uniqueEmail("future");
    for (let attempt = 0; attempt < 7; attempt++) await login(email, "wrong-password");
    const input = newUser({ email });
    expect((await postJson("/register", input, { "CF-Connecting-IP": ip() })).status).toBe(201);
    expect((await login(email, input.password)).status).toBe(200);
  });

  it("does not let a losing duplicate registration reset an account's lockout", async () => {
    const { input } = await registered();
    for (let attempt = 0; attempt < 6; attempt++) await login(input.email, "wrong-password");
    expect((await postJson("/register", input, { "CF-Connecting-IP": ip() })).status).toBe(409);
    await expectLocked(await login(input.email, input.password));
  });
});

/**
 * The local rate limiter counts in fixed windows aligned to the wall clock, so a burst that
 * straddles a minute boundary starts counting again halfway. Bursts start with time to spare.
 */
async function awaitFreshWindow(periodMs = 60_000, spareMs = 15_000) {
  const left = periodMs - (Date.now() % periodMs);
  if (left < spareMs) await new Promise((resolve) => setTimeout(resolve, left + 250));
}

describe("per-IP rate limits (Workers Rate Limiting binding)", { timeout: 30_000 }, () => {
  it("answers 429 with Retry-After past 100 refreshes a minute from one CF-Connecting-IP", async () => {
    await awaitFreshWindow();
    const address = ip();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 110; attempt++) {
      const res = await postJson(
        "/token/refresh",
        { refresh_token: "bogus" },
        { "CF-Connecting-IP": address, "X-Forwarded-For": ip() },
      );
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect((await errorOf(res)).code).toBe("rate_limited");
        break;
      }
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(90);
    // X-Forwarded-For, X-Real-IP and True-Client-IP are not the client's address.
    const spoofed = await postJson(
      "/token/refresh",
      { refresh_token: "bogus" },
      {
        "CF-Connecting-IP": address,
        "X-Forwarded-For": "1.1.1.1",
        "X-Real-IP": "1.1.1.2",
        "True-Client-IP": "1.1.1.3",
      },
    );
    expect(spoofed.status).toBe(429);
    // Another address has its own budget.
    expect((await postJson("/token/refresh", { refresh_token: "bogus" }, { "CF-Connecting-IP": ip() })).status).toBe(
      401,
    );
  });

  it("limits logins per IP across different emails (credential stuffing)", async () => {
    await awaitFreshWindow();
    const address = ip();
    let limited = false;
    for (let attempt = 0; attempt < 110 && !limited; attempt++) {
      const res = await postJson(
        "/login",
        { email: uniqueEmail("stuff"), password: "password-guess" },
        { "CF-Connecting-IP": address },
      );
      limited = res.status === 429;
    }
    expect(limited).toBe(true);
  });

  it("limits registrations per IP, taken emails included", async () => {
    await awaitFreshWindow();
    const address = ip();
    const taken = newUser();
    expect((await postJson("/register", taken, { "CF-Connecting-IP": address })).status).toBe(201);
    let res: Response | undefined;
    for (let attempt = 0; attempt < 110 && res?.status !== 429; attempt++) {
      res = await postJson("/register", taken, { "CF-Connecting-IP": address });
    }
    expect(res?.status).toBe(429);
    expect(Number(res?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await errorOf(res as Response)).toEqual({
      code: "rate_limited",
      message: "Too many attempts, try again later",
    });
  });

  it("does not count malformed requests, which cost nothing", async () => {
    const address = ip();
    for (let attempt = 0; attempt < 105; attempt++) {
      const res = await postJson("/register", { email: "x" }, { "CF-Connecting-IP": address });
      expect(res.status).toBe(400);
    }
    expect((await postJson("/register", newUser(), { "CF-Connecting-IP": address })).status).toBe(201);
  });
});

describe("password policy", () => {
  it.each(["password", "Password", "PASSWORD1", "12345678", "qwertyuiop", "iloveyou", "Baseball", "sunshine"])(
    "refuses the common password %s at register, in any case",
    async (password) => {
      const res = await postJson("/register", newUser({ password }), { "CF-Connecting-IP": ip() });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "This password is too common" });
    },
  );

  it("refuses a common new password at password change", async () => {
    const { input, token } = await registered();
    const res = await call("/me/password", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ currentPassword: input.password, newPassword: "football" }),
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toBe("This password is too common");
  });

  it.each(["correct horse battery staple", "Tr0ub4dor&3", "пароль-которого-нет", "🙌🙌🙌🙌-passphrase"])(
    "accepts the uncommon password %s: any Unicode, no composition rules",
    async (password) => {
      expect((await postJson("/register", newUser({ password }), { "CF-Connecting-IP": ip() })).status).toBe(201);
    },
  );
});
