import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { retireFor } from "../src/identity/retirement";
import {
  consumeSingleUse,
  endIfSpent,
  findSingleUse,
  MAX_SINGLE_USE_LENGTH,
  mintSingleUse,
  singleUseHash,
  takeAttempt,
} from "../src/platform/single-use";
import { registered } from "./helpers";

const db = drizzle(env.DB);
const minute = 60;

async function minted(userId: string, now = new Date(), ttlSeconds = minute) {
  const { value, insert } = await mintSingleUse(db, "reset_password", { userId, ttlSeconds, data: { n: 1 } }, now);
  await insert;
  return { value, hash: (await singleUseHash(value)) as string };
}

describe("single-use tokens", () => {
  it("hands out 43-character base64url values and stores only their hash", async () => {
    const { body } = await registered();
    const { value, hash } = await minted(body.id);
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await env.DB.prepare("select token_hash, data from single_use_tokens where user_id = ?")
      .bind(body.id)
      .first<{ token_hash: string; data: string }>();
    expect(stored).toEqual({ token_hash: hash, data: '{"n":1}' });
    expect(JSON.stringify(stored)).not.toContain(value);
  });

  it("works exactly once, even for two concurrent consumers", async () => {
    const { body } = await registered();
    const { hash } = await minted(body.id);
    const now = new Date();
    const results = await Promise.all([
      consumeSingleUse(db, hash, "reset_password", now),
      consumeSingleUse(db, hash, "reset_password", now),
    ]);
    expect(results.map((rows) => rows.length).sort()).toEqual([0, 1]);
    expect(await consumeSingleUse(db, hash, "reset_password", now)).toEqual([]);
  });

  it("refuses another purpose and an expired token", async () => {
    const { body } = await registered();
    const past = new Date(Date.now() - 2 * minute * 1000);
    const { hash } = await minted(body.id, past);
    expect(await consumeSingleUse(db, hash, "reset_password", new Date())).toEqual([]);
    const fresh = await minted(body.id);
    expect(await consumeSingleUse(db, fresh.hash, "verify_email", new Date())).toEqual([]);
    expect(await findSingleUse(db, fresh.hash, "reset_password", new Date())).toHaveLength(1);
  });

  it("retires the unused tokens of the purposes an account event names", async () => {
    const { body } = await registered();
    const old = await minted(body.id);
    for (const statement of retireFor(db, "password_changed", body.id, new Date())) await statement;
    expect(await consumeSingleUse(db, old.hash, "reset_password", new Date())).toEqual([]);
  });

  it("takes each try before the check, and dies at the last allowed wrong answer", async () => {
    const { body } = await registered();
    const { hash } = await minted(body.id);
    for (let attempt = 1; attempt <= 5; attempt++) {
      const [row] = await takeAttempt(db, hash, "reset_password", 5, new Date());
      expect(row?.attempts).toBe(attempt);
      expect(row?.usedAt).toBeNull();
      await endIfSpent(db, hash, "reset_password", 5, new Date());
    }
    expect(await takeAttempt(db, hash, "reset_password", 5, new Date())).toEqual([]);
    expect(await findSingleUse(db, hash, "reset_password", new Date())).toEqual([]);
  });

  it("lets the right answer in on the last try (its try taken, not yet ended)", async () => {
    const { body } = await registered();
    const { hash } = await minted(body.id);
    for (let attempt = 1; attempt <= 4; attempt++) await takeAttempt(db, hash, "reset_password", 5, new Date());
    expect(await takeAttempt(db, hash, "reset_password", 5, new Date())).toHaveLength(1);
    expect(await consumeSingleUse(db, hash, "reset_password", new Date())).toHaveLength(1);
  });

  it("refuses values that cannot be ours before hashing", async () => {
    for (const value of [undefined, 42, "", "a".repeat(MAX_SINGLE_USE_LENGTH + 1), "has space", "pad=", "ü"]) {
      expect(await singleUseHash(value)).toBeUndefined();
    }
    expect(await singleUseHash("a".repeat(MAX_SINGLE_USE_LENGTH))).toMatch(/^[0-9a-f]{64}$/);
  });
});
