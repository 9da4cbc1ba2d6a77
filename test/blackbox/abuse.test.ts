import { randomInt, randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import {
  type Answer,
  type Client,
  client,
  expectError,
  expectRetryAfter,
  expectStatus,
  it,
  newUser,
  randomIp,
  send,
  target,
} from "./helpers";

/** Refresh attempts allowed per CF-Connecting-IP per window (wrangler.toml), plus slack. */
const REFRESH_BURST = 110;
const WINDOW_MS = 60_000;

const windowOf = (ms: number) => Math.floor(ms / WINDOW_MS);
const leftInWindow = () => WINDOW_MS - (Date.now() % WINDOW_MS);

function locked(res: Answer) {
  expectError(res, 429, "rate_limited");
  expectRetryAfter(res);
}

/** Sends refreshes, the address of each from `address(i)`, until a 429; returns the `i`
 * of the 429. The limiter counts in windows aligned to the clock minute, so a burst
 * starts after the boundary when it is near, and one that straddles a boundary anyway
 * (a loaded machine answers slowly) is sent once more. */
async function burst(address: (i: number) => string, attempt = 1): Promise<number> {
  const left = leftInWindow();
  if (left < 4_000) await new Promise((resolve) => setTimeout(resolve, left + 250));
  const window = windowOf(Date.now());
  for (let i = 1; i <= REFRESH_BURST; i++) {
    const res = await send(target.base, "POST", "/token/refresh", {
      headers: { "content-type": "application/json", "cf-connecting-ip": address(i) },
      body: JSON.stringify({ refresh_token: `bogus-${i}` }),
    });
    if (res.status === 429) {
      locked(res);
      return i;
    }
    expectError(res, 401, "invalid_token");
  }
  if (attempt === 1 && windowOf(Date.now()) !== window) return burst(address, 2);
  throw new Error(`${REFRESH_BURST} refreshes and no 429`);
}

/** A limited client shared by the tests of this file, limited again when the window it was
 * limited in has ended or is about to (its count is gone then), so each test can run alone
 * and in any order. */
function limitedInThisWindow<T>(limit: () => Promise<T>): () => Promise<T> {
  let cached: Promise<{ window: number; value: T }> | undefined;
  return async () => {
    // A burst that failed failed its test; the next test tries again.
    const last = await cached?.catch(() => undefined);
    if (last && last.window === windowOf(Date.now()) && leftInWindow() >= 3_000) return last.value;
    cached = limit().then((value) => ({ window: windowOf(Date.now()), value }));
    return (await cached).value;
  };
}

/** One CF-Connecting-IP, limited by a refresh burst. */
const limitedIp = limitedInThisWindow(async () => {
  const ip = randomIp();
  return { ip, after: await burst(() => ip) };
});

const group = () => randomInt(0, 0x10000).toString(16);
/** A random /64 of the documentation range 2001:db8::/32, limited by one burst. */
const limitedPrefix = limitedInThisWindow(async () => {
  const prefix = `2001:db8:${group()}:${group()}`;
  const after = await burst(() => `${prefix}:${group()}:${group()}:${group()}:${group()}`);
  return { prefix, after };
});

/** A bogus refresh from `address`. */
const refreshFrom = (t: Client, address: string, headers: Record<string, string> = {}) =>
  t.post("/token/refresh", { refresh_token: "bogus" }, { "cf-connecting-ip": address, ...headers });

describe("common passwords", () => {
  for (const password of ["Password123", "qwerty123", "1qaz2wsx", "PASSW0RD", "iLoveYou"]) {
    it(`common password ${JSON.stringify(password)} -> 400 "This password is too common", nothing written`, async ({
      t,
    }) => {
      const user = { ...newUser(), password };
      const error = expectError(await t.post("/register", user), 400, "invalid_input");
      expect(error.message).toBe("This password is too common");
      await t.expectRegistrable(user.email);
    });
  }
});

describe("per-email lockout", () => {
  /** The same email in another letter case on each call. */
  const caseOf = (email: string, i: number) =>
    [email.toUpperCase(), email.toLowerCase(), email.replace(/^./, (c) => c.toUpperCase())][i % 3] ?? email;
  /** `times` failed logins for `email`, each from `ip()` when given. */
  const fail = async (t: Client, email: string, times: number, ip?: () => string) => {
    for (let i = 0; i < times; i++) {
      const headers: Record<string, string> = ip ? { "cf-connecting-ip": ip() } : {};
      const res = await t.post("/login", { email: caseOf(email, i), password: `wrong-${i}-x` }, headers);
      expectError(res, 400, ["invalid_credentials"]);
    }
  };

  it("5 failed logins (mixed letter case), then the correct password -> 429 rate_limited", async ({ t }) => {
    const user = await t.register(newUser("Lock"));
    await fail(t, user.email, 5);
    locked(await t.post("/login", { email: user.email, password: user.password }));
  });

  it("5 failed logins from rotating IPs, then the correct password -> 429 with Retry-After", async ({ t }) => {
    const user = await t.register(newUser("Lock"));
    await fail(t, user.email, 5, randomIp);
    locked(await t.post("/login", { email: caseOf(user.email, 2), password: user.password }));
  });

  it("an unregistered email: 5 failures, then the 6th attempt -> 429, same answer as a registered one", async ({
    t,
  }) => {
    const email = newUser("Ghost").email;
    await fail(t, email, 5);
    locked(await t.post("/login", { email, password: "wrong-6-x" }));
  });

  it("an unregistered email locked by failures can still register (201), then log in", async ({ t }) => {
    const user = newUser("Squat");
    await fail(t, user.email, 5);
    locked(await t.post("/login", { email: user.email, password: "wrong-7-x" }));
    expectStatus(await t.post("/register", { ...user, email: user.email.toUpperCase() }), 201);
    expectStatus(await t.post("/login", { email: user.email, password: user.password }), 200);
  });
});

describe("per-IP limits", () => {
  it(`per-IP limit: at most ${REFRESH_BURST} bogus refreshes from one CF-Connecting-IP before 429 with Retry-After`, async () => {
    const { after } = await limitedIp();
    expect(after, "the first 429 came at request").toBeLessThanOrEqual(REFRESH_BURST);
  });

  for (const header of ["x-forwarded-for", "x-real-ip", "true-client-ip"]) {
    it(`changing ${header} while keeping CF-Connecting-IP does not reset the limit`, async ({ t }) => {
      const { ip } = await limitedIp();
      for (let i = 0; i < 3; i++) locked(await refreshFrom(t, ip, { [header]: randomIp() }));
    });
  }

  it("per-IP limit per IPv6 /64: random interface ids in one /64 get 429 from request 101 on", async () => {
    const { after } = await limitedPrefix();
    expect(after, "the first 429 came at request").toBeLessThanOrEqual(101);
  });

  it("the limited /64 in other spellings (upper case, zero padding, ::) is still limited", async ({ t }) => {
    const { prefix } = await limitedPrefix();
    const [a = "", b = "", c = "", d = ""] = prefix.split(":");
    for (const address of [
      `${prefix}::1`.toUpperCase(),
      [a, b, c, d, "0", "0", "0", "1"].map((g) => g.padStart(4, "0")).join(":"),
      `${prefix}::`,
      `${prefix}:ffff:ffff:ffff:ffff`,
    ]) {
      locked(await refreshFrom(t, address));
    }
  });

  it("a neighbouring /64 is not limited", async ({ t }) => {
    const { prefix } = await limitedPrefix();
    const parts = prefix.split(":");
    parts[3] = ((Number.parseInt(parts[3] ?? "", 16) + 1) % 0x10000).toString(16);
    expectError(await refreshFrom(t, `${parts.join(":")}::1`), 401, "invalid_token");
  });

  it("the limited IPv4 address written IPv4-mapped (::ffff:a.b.c.d, either case, hex) is still limited", async ({
    t,
  }) => {
    const { ip } = await limitedIp();
    const [a = 0, b = 0, c = 0, d = 0] = ip.split(".").map(Number);
    const hex = (n: number) => n.toString(16);
    for (const address of [`::ffff:${ip}`, `::FFFF:${ip}`, `::ffff:${hex((a << 8) | b)}:${hex((c << 8) | d)}`]) {
      locked(await refreshFrom(t, address));
    }
  });

  it("a fresh malformed CF-Connecting-IP on every request shares one bucket: 429 within 101 requests", async () => {
    const after = await burst((i) => `not-an-address-${i}-${randomUUID()}`);
    expect(after, "the first 429 came at request").toBeLessThanOrEqual(101);
  });

  it("another CF-Connecting-IP is not limited", async () => {
    await limitedIp();
    expectError(await refreshFrom(client(), randomIp()), 401, "invalid_token");
  });
});
