import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseIp, rateLimitKey } from "../src/platform/http/client-ip";
import { bearer, call, errorOf, newUser, postJson, registered, send, uniqueEmail } from "./helpers";

const hex = (n: number) => n.toString(16);
const randomGroup = () => Math.floor(Math.random() * 0x10000);

/** Every text form of the eight groups `groups`: full and padded, upper case, each
 * possible `::` compression, and for an IPv4-mapped address the dotted tail. */
function spellings(groups: number[]): string[] {
  const plain = groups.map(hex);
  const forms = [plain.join(":"), groups.map((g) => hex(g).padStart(4, "0")).join(":"), plain.join(":").toUpperCase()];
  for (let start = 0; start < 8; start++) {
    for (let end = start + 1; end <= 8; end++) {
      if (groups.slice(start, end).every((g) => g === 0)) {
        forms.push(`${plain.slice(0, start).join(":")}::${plain.slice(end).join(":")}`);
      }
    }
  }
  if (groups.slice(0, 6).join() === "0,0,0,0,0,65535") {
    const [high = 0, low = 0] = groups.slice(6);
    forms.push(`::ffff:${[high >> 8, high & 255, low >> 8, low & 255].join(".")}`);
  }
  return forms;
}

describe("rateLimitKey: the bucket a request counts in", () => {
  it("is the address itself for IPv4", () => {
    expect(rateLimitKey("203.0.113.7")).toBe("ip4:203.0.113.7");
    expect(rateLimitKey(" 203.0.113.7 ")).toBe("ip4:203.0.113.7");
    expect(rateLimitKey("203.0.113.8")).toBe("ip4:203.0.113.8");
  });

  it("is the IPv4 address for an IPv4-mapped IPv6 address, in any spelling", () => {
    for (const value of [
      "::ffff:203.0.113.7",
      "::FFFF:203.0.113.7",
      "::ffff:cb00:7107",
      "0:0:0:0:0:ffff:cb00:7107",
      "0000:0000:0000:0000:0000:FFFF:CB00:7107",
      "0::ffff:203.0.113.7",
    ]) {
      expect(rateLimitKey(value), value).toBe("ip4:203.0.113.7");
    }
  });

  it("is the /64 prefix for IPv6, whatever the interface id, padding, case or compression", () => {
    for (const value of [
      "2001:db8:1:2::1",
      "2001:db8:1:2::",
      "2001:0db8:0001:0002:0000:0000:0000:0001",
      "2001:DB8:1:2:FFFF:EEEE:DDDD:CCCC",
      "2001:db8:1:2:0:0:0:0",
      "2001:db8:1:2:a:b:1.2.3.4",
    ]) {
      expect(rateLimitKey(value), value).toBe("ip6:2001:db8:1:2::/64");
    }
    expect(rateLimitKey("2001:db8:1:3::1")).toBe("ip6:2001:db8:1:3::/64");
    expect(rateLimitKey("2001:db8::1")).toBe("ip6:2001:db8:0:0::/64");
    expect(rateLimitKey("::1")).toBe("ip6:0:0:0:0::/64");
    // Not IPv4-mapped: a NAT64 address is an IPv6 client.
    expect(rateLimitKey("64:ff9b::203.0.113.7")).toBe("ip6:64:ff9b:0:0::/64");
  });

  it("gives every spelling of any IPv6 address, and every interface id behind its /64, one key (property)", () => {
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(group, { minLength: 4, maxLength: 4 }),
        (groups, iid) => {
          const key = rateLimitKey(groups.map(hex).join(":"));
          for (const form of spellings(groups)) expect(rateLimitKey(form), form).toBe(key);
          const neighbour = [...groups.slice(0, 4), ...iid];
          const mapped = groups.slice(0, 6).join() === "0,0,0,0,0,65535";
          if (!mapped && neighbour.slice(0, 6).join() !== "0,0,0,0,0,65535") {
            for (const form of spellings(neighbour)) expect(rateLimitKey(form), form).toBe(key);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("puts a missing header in one shared bucket and every malformed value in another, never one per value", () => {
    expect(rateLimitKey(undefined)).toBe("ip:none");
    expect(rateLimitKey("")).toBe("ip:none");
    expect(rateLimitKey("   ")).toBe("ip:none");
    for (const value of [
      "unknown",
      "not-an-ip",
      "1.2.3",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.4.5",
      "1.2.3.4:80",
      "0x7f.0.0.1",
      "2001:db8::1::2",
      "2001:db8:1:2:3:4:5:6:7",
      "12345::",
      "g::1",
      ":",
      ":::",
      "fe80::1%eth0",
      "[2001:db8::1]",
      "2001:db8::1/64",
      "::ffff:1.2.3.256",
      "198.18.0.1, 10.0.0.1",
      crypto.randomUUID(),
    ]) {
      expect(rateLimitKey(value), value).toBe("ip:invalid");
      expect(parseIp(value), value).toBeUndefined();
    }
  });
});

/**
 * The local rate limiter counts in fixed windows aligned to the wall clock, so a burst that
 * straddles a minute boundary starts counting again halfway. Bursts start with time to spare.
 */
async function awaitFreshWindow(spareMs = 6_000) {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < spareMs) await new Promise((resolve) => setTimeout(resolve, left + 250));
}

/** Sends `send(i)` until the first 429 (at most 110 times); returns how many went before it. */
async function burst(send: (i: number) => Promise<Response>): Promise<number> {
  await awaitFreshWindow();
  for (let i = 1; i <= 110; i++) {
    const res = await send(i);
    if (res.status === 429) {
      expect((await errorOf(res)).code).toBe("rate_limited");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      return i - 1;
    }
    expect(res.status).toBeLessThan(429);
  }
  throw new Error("110 requests and no 429");
}

/** A random /64 of the documentation range, and an address in it spelled one of several ways. */
function randomPrefix() {
  const prefix = [0x2001, 0xdb8, randomGroup(), randomGroup()];
  return (i: number) => {
    const groups = [...prefix, randomGroup(), randomGroup(), randomGroup(), randomGroup()];
    const forms = spellings(groups);
    return forms[i % forms.length] as string;
  };
}

describe("per-IP limits over the real Rate Limiting binding", { timeout: 60_000 }, () => {
  it("limit POST /token/refresh per IPv6 /64: random interface ids get 429 from request 101 on", async () => {
    const address = randomPrefix();
    const before = await burst((i) =>
      postJson("/token/refresh", { refresh_token: `junk-${i}` }, { "CF-Connecting-IP": address(i) }),
    );
    expect(before).toBe(100);
    // Another /64 has its own budget.
    const other = randomPrefix();
    expect((await postJson("/token/refresh", { refresh_token: "junk" }, { "CF-Connecting-IP": other(0) })).status).toBe(
      401,
    );
  });

  it("limit POST /login per IPv6 /64", async () => {
    const address = randomPrefix();
    const before = await burst(() =>
      postJson("/login", { email: uniqueEmail("v6"), password: "wrong-password" }, { "CF-Connecting-IP": address(0) }),
    );
    expect(before).toBe(100);
  });

  it("share the login limit with every other way to log in: second step, passkey login and their options", async () => {
    const address = randomPrefix();
    const ip = { "CF-Connecting-IP": address(0) };
    expect(await burst(() => postJson("/login/passkey/options", {}, ip))).toBe(100);
    for (const [path, body] of [
      ["/login/mfa", { mfa_token: "junk", code: "123456" }],
      ["/login/mfa/webauthn/options", { mfa_token: "junk" }],
      ["/login/passkey", { challenge_id: "junk", response: {} }],
      ["/login", { email: uniqueEmail("v6"), password: "wrong-password" }],
    ] as const) {
      const res = await postJson(path, body, ip);
      expect(res.status, path).toBe(429);
      expect((await errorOf(res)).code).toBe("rate_limited");
    }
  });

  it("count the signed-in password and second-factor re-checks against the login limit, both ways", async () => {
    const address = randomPrefix();
    const ip = { "CF-Connecting-IP": address(0) };
    // No lockout, so every wrong password is answered 400 and only the per-IP limit stops them.
    const noLockout = { LOCKOUT_AFTER: "9999" };
    const user = await registered({}, ip);
    const recheck = () =>
      call(
        "/me/password",
        {
          method: "POST",
          headers: { ...ip, ...bearer(user.token), "content-type": "application/json" },
          body: JSON.stringify({ currentPassword: "not the password", newPassword: "a new passphrase" }),
        },
        noLockout,
      );
    expect(await burst(recheck)).toBe(100);
    const login = await postJson("/login", { email: user.input.email, password: "wrong-password" }, ip);
    expect((await errorOf(login)).code).toBe("rate_limited");

    const other = randomPrefix();
    const otherIp = { "CF-Connecting-IP": other(0) };
    const second = await registered({}, otherIp);
    expect(await burst(() => postJson("/login/passkey/options", {}, otherIp))).toBe(100);
    for (const [method, path, body] of [
      ["DELETE", "/me", { password: second.input.password }],
      ["POST", "/me/mfa/recovery-codes", { code: "123456" }],
      ["POST", "/me/mfa/totp", { password: second.input.password }],
    ] as const) {
      const res = await send(method, path, second.token, body, otherIp);
      expect(res.status, path).toBe(429);
      expect((await errorOf(res)).code).toBe("rate_limited");
    }
  });

  it("limit POST /register per IPv6 /64", async () => {
    const address = randomPrefix();
    const before = await burst((i) => postJson("/register", newUser(), { "CF-Connecting-IP": address(i) }));
    expect(before).toBe(100);
  });

  it("count an IPv4 address and its IPv4-mapped IPv6 spellings together", async () => {
    const v4 = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 255) + 1}`;
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    const forms = [v4, `::ffff:${v4}`, `::FFFF:${hex((a << 8) | b)}:${hex((c << 8) | d)}`, `0:0:0:0:0:ffff:${v4}`];
    const before = await burst((i) =>
      postJson("/token/refresh", { refresh_token: "junk" }, { "CF-Connecting-IP": forms[i % forms.length] as string }),
    );
    expect(before).toBe(100);
  });

  it("count every malformed CF-Connecting-IP in one shared bucket: a fresh junk value per request buys nothing", async () => {
    const before = await burst((i) =>
      postJson("/token/refresh", { refresh_token: "junk" }, { "CF-Connecting-IP": `junk-${i}-${crypto.randomUUID()}` }),
    );
    expect(before).toBeLessThanOrEqual(100);
  });
});
