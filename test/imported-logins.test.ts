import { env } from "cloudflare:workers";
import { getRounds, hash } from "bcryptjs";
import { describe, expect, it } from "vitest";
import { app } from "../src/worker";
import { errorOf, insertPasskeyRow, newUser, note, send, uniqueEmail } from "./helpers";

// Accounts brought over by `npm run import:users` keep the tutorial's bcrypt hashes: any
// cost from 4 to 14, made by bcryptjs from the password as typed, which bcrypt cut at 72
// bytes. These tests write such rows the way the import does (scripts/import-users.mjs:
// the hash as it was, password_imported = 1).

/** A users row as the import writes it; returns the email. */
async function imported(passwordHash: string): Promise<string> {
  const email = uniqueEmail("imported");
  const now = Date.now();
  await env.DB.prepare(
    `insert into users (id, email, first_name, last_name, password_hash, password_imported, created_at, updated_at)
     values (?, ?, 'Imported', 'User', ?, 1, ?, ?)`,
  )
    .bind(crypto.randomUUID().replaceAll("-", "").slice(0, 24), email, passwordHash, now, now)
    .run();
  return email;
}

async function stored(email: string) {
  return env.DB.prepare("select password_hash, password_imported from users where email = ?")
    .bind(email)
    .first<{ password_hash: string; password_imported: number }>();
}

/** POST /login with `bindings`, from `ip`. */
async function login(email: string, password: string, bindings: object, ip = "198.51.100.7") {
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": ip },
    body: JSON.stringify({ email, password }),
  };
  const res = await app.request("/login", init, bindings);
  await note("POST", "/login", res);
  return res;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

describe("failing logins cost the same whatever the stored hash's cost", () => {
  // Cost 8: bcrypt is most of a login's time (tens of ms in workerd) yet 19 rounds of four
  // kinds stay quick. No lockout, so every attempt runs bcrypt.
  const slow = { ...env, BCRYPT_COST: "8", LOCKOUT_AFTER: "9999" };

  it("a wrong password of an imported cost-4 or cost-6 account takes what an unknown address takes (medians of 17)", {
    timeout: 120_000,
  }, async () => {
    const normal = newUser();
    const created = await app.request(
      "/register",
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(normal) },
      slow,
    );
    expect(created.status).toBe(201);
    expect(getRounds((await stored(normal.email))?.password_hash ?? "")).toBe(8);
    const kinds = {
      unknown: uniqueEmail("nobody"),
      normal: normal.email,
      cost4: await imported(await hash("the tutorial password", 4)),
      cost6: await imported(await hash("the tutorial password", 6)),
    };
    const times: Record<keyof typeof kinds, number[]> = { unknown: [], normal: [], cost4: [], cost6: [] };
    // Round robin, so a burst of load on the machine falls on every kind alike; the first
    // two rounds warm up and are not counted.
    for (let round = 0; round < 19; round++) {
      for (const [kind, email] of Object.entries(kinds) as [keyof typeof kinds, string][]) {
        const started = performance.now();
        const res = await login(email, "not the password", slow, `198.51.100.${round % 2 ? 20 : 21}`);
        const elapsed = performance.now() - started;
        expect((await errorOf(res)).code).toBe("invalid_credentials");
        if (round >= 2) times[kind].push(elapsed);
      }
    }
    const unknown = median(times.unknown);
    const ratios = {
      normal: median(times.normal) / unknown,
      cost4: median(times.cost4) / unknown,
      cost6: median(times.cost6) / unknown,
    };
    for (const [kind, ratio] of Object.entries(ratios)) {
      expect(ratio, `${kind}: ${JSON.stringify(ratios)}, unknown ${unknown.toFixed(1)} ms`).toBeGreaterThan(0.75);
      expect(ratio, `${kind}: ${JSON.stringify(ratios)}, unknown ${unknown.toFixed(1)} ms`).toBeLessThan(1.35);
    }
  });

  it("the right password of an imported low-cost account still logs in and is rehashed at BCRYPT_COST", async () => {
    const email = await imported(await hash("the tutorial password", 4));
    const bindings = { ...env, BCRYPT_COST: "6" };
    expect((await login(email, "the tutorial password", bindings)).status).toBe(200);
    const row = await stored(email);
    expect(getRounds(row?.password_hash ?? "")).toBe(6);
    expect(row?.password_imported).toBe(1);
  });

  it("an imported account with a second factor is rehashed at the right password too, before the second step", async () => {
    const email = await imported(await hash("the tutorial password", 4));
    const user = await env.DB.prepare("select id from users where email = ?").bind(email).first<{ id: string }>();
    await insertPasskeyRow(user?.id ?? "");
    const res = await login(email, "the tutorial password", { ...env, BCRYPT_COST: "6" });
    expect((await errorOf(res)).code).toBe("mfa_required");
    expect(getRounds((await stored(email))?.password_hash ?? "")).toBe(6);
  });
});

describe("imported passwords longer than 72 bytes", () => {
  // 71 ASCII bytes, then é (0xC3 0xA9): byte 72 is the first half of é, where bcrypt cut it.
  const head = "It was the best of times, it was the worst of times, it was the age of w";
  const long = `${head.slice(0, 71)}éisdom, it was the age of foolishness`;
  const bindings = { ...env, BCRYPT_COST: "5" };

  it("log in with the whole password, checked on its first 72 bytes as the tutorial's bcryptjs did, then rehash", async () => {
    expect(new TextEncoder().encode(long).length).toBeGreaterThan(72);
    const email = await imported(await hash(long, 4));
    const first = await login(email, long, bindings);
    expect(first.status).toBe(200);
    const row = await stored(email);
    expect(getRounds(row?.password_hash ?? "")).toBe(5);
    expect(row?.password_imported).toBe(1);
    // The same long password keeps working after the rehash, whatever follows byte 72
    // (bcrypt never saw it), as at the tutorial's login.
    expect((await login(email, long, bindings)).status).toBe(200);
    expect((await login(email, `${head.slice(0, 71)}è and then anything`, bindings)).status).toBe(200);
    // A difference within the first 72 bytes is a wrong password.
    const wrong = await login(email, `x${long.slice(1)}`, bindings);
    expect((await errorOf(wrong)).code).toBe("invalid_credentials");
  });

  it("serve the signed-in password re-check too, until a new password (at most 72 bytes) replaces it", async () => {
    const email = await imported(await hash(long, 4));
    const { token } = (await (await login(email, long, bindings)).json()) as { token: string };
    const change = await send("POST", "/me/password", token, {
      currentPassword: long,
      newPassword: "a new password of mine",
    });
    expect(change.status).toBe(200);
    expect((await stored(email))?.password_imported).toBe(0);
    expect((await errorOf(await login(email, long, bindings))).code).toBe("invalid_credentials");
    expect((await login(email, "a new password of mine", bindings)).status).toBe(200);
  });

  it("are never cut for an account that was not imported: a password over 72 bytes matches nothing", async () => {
    const email = uniqueEmail();
    const now = Date.now();
    await env.DB.prepare(
      `insert into users (id, email, first_name, last_name, password_hash, created_at, updated_at)
       values (?, ?, 'Native', 'User', ?, ?, ?)`,
    )
      .bind(crypto.randomUUID(), email, await hash(long, 4), now, now)
      .run();
    expect((await errorOf(await login(email, long, bindings))).code).toBe("invalid_credentials");
  });
});
