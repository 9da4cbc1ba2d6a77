import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it, vi } from "vitest";
import { HOUSEKEEPING_BATCH } from "../src/features/housekeeping/queries";
import { HOUSEKEEPING_ROUNDS, housekeep } from "../src/features/housekeeping/scheduled";
import { loginFailures, sessions, singleUseTokens } from "../src/platform/schema";
import worker from "../src/worker";
import { registered } from "./helpers";

const db = drizzle(env.DB);
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const REFRESH_TTL = 30 * DAY; // pinned in vitest.config.ts

function session(userId: string, familyId: string, fields: Partial<typeof sessions.$inferInsert>) {
  const id = fields.id ?? crypto.randomUUID();
  return {
    id,
    userId,
    familyId,
    refreshTokenHash: crypto.randomUUID(),
    createdAt: new Date(0),
    lastUsedAt: new Date(0),
    expiresAt: new Date(0),
    ...fields,
  };
}

function token(fields: Partial<typeof singleUseTokens.$inferInsert>) {
  return {
    id: crypto.randomUUID(),
    tokenHash: crypto.randomUUID(),
    purpose: "verify_email" as const,
    createdAt: new Date(0),
    expiresAt: new Date(0),
    ...fields,
  };
}

async function ids<T extends { id: string }>(table: typeof sessions | typeof singleUseTokens, wanted: T[]) {
  const rows = await db
    .select({ id: table.id })
    .from(table)
    .where(
      inArray(
        table.id,
        wanted.map((row) => row.id),
      ),
    );
  return rows.map((row) => row.id).sort();
}

describe("housekeeping (the scheduled handler)", () => {
  it("runs from the Worker's scheduled export and logs what it removed", async () => {
    const log = vi.spyOn(console, "log");
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "23 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const line = log.mock.calls.map(([first]) => String(first)).find((text) => text.includes('"housekeeping"'));
    expect(JSON.parse(line ?? "{}")).toMatchObject({
      level: "info",
      event: "housekeeping",
      removed: { sessions: expect.any(Number), login_failures: expect.any(Number) },
    });
    log.mockRestore();
  });

  it("deletes session families dead for longer than REFRESH_TTL and keeps any family with a usable row", async () => {
    const { body } = await registered();
    const userId = body.id;
    const now = Date.now();
    const long = new Date(now - REFRESH_TTL - DAY);
    const recent = new Date(now - DAY);
    const rows = [
      // expired long ago: goes
      session(userId, "f-expired", { id: "f-expired", expiresAt: long }),
      // revoked long ago (though it would expire later): goes, with its replaced parent
      session(userId, "f-revoked", { id: "f-revoked", expiresAt: new Date(now + DAY), revokedAt: long }),
      session(userId, "f-revoked", { expiresAt: long, replacedBy: "x" }),
      // revoked recently: kept
      session(userId, "f-recent", { id: "f-recent", expiresAt: new Date(now + DAY), revokedAt: recent }),
      // first row long expired, but its child is live: the whole family stays, so
      // presenting the replaced token again still revokes the family
      session(userId, "f-live", { id: "f-live", expiresAt: long, replacedBy: "f-live-child" }),
      session(userId, "f-live", { id: "f-live-child", expiresAt: new Date(now + DAY) }),
    ];
    await db.insert(sessions).values(rows);
    const { removed } = await housekeep(env, new Date(now));
    expect(removed.sessions).toBeGreaterThanOrEqual(3);
    expect(await ids(sessions, rows)).toEqual(["f-live", "f-live-child", "f-recent"]);
  });

  it("deletes forgotten login-failure rows but keeps recent ones and running locks", async () => {
    const now = Date.now();
    const email = (name: string) => `${name}-${crypto.randomUUID()}@example.com`;
    const rows = [
      { email: email("stale"), failures: 3, lastFailureAt: new Date(now - 2 * DAY), lockedUntil: null },
      {
        email: email("stale-unlocked"),
        failures: 9,
        lastFailureAt: new Date(now - 2 * DAY),
        lockedUntil: new Date(now - DAY),
      },
      { email: email("recent"), failures: 2, lastFailureAt: new Date(now - HOUR), lockedUntil: null },
      {
        email: email("locked"),
        failures: 40,
        lastFailureAt: new Date(now - 2 * DAY),
        lockedUntil: new Date(now + HOUR),
      },
    ];
    await db.insert(loginFailures).values(rows);
    await housekeep(env, new Date(now));
    const left = await db
      .select({ email: loginFailures.email })
      .from(loginFailures)
      .where(
        inArray(
          loginFailures.email,
          rows.map((row) => row.email),
        ),
      );
    expect(left.map((row) => row.email.split("-")[0]).sort()).toEqual(["locked", "recent"]);
  });

  it("deletes used and expired single-use tokens and keeps live ones", async () => {
    const now = Date.now();
    const rows = [
      token({ id: "t-expired", expiresAt: new Date(now - 1) }),
      token({ id: "t-used", expiresAt: new Date(now + HOUR), usedAt: new Date(now - 1) }),
      token({ id: "t-live", expiresAt: new Date(now + HOUR) }),
    ];
    await db.insert(singleUseTokens).values(rows);
    await housekeep(env, new Date(now));
    expect(await ids(singleUseTokens, rows)).toEqual(["t-live"]);
  });

  it("removes at most a bounded number of rows per run and the rest on the next", async () => {
    const now = Date.now();
    const bound = HOUSEKEEPING_BATCH * HOUSEKEEPING_ROUNDS;
    const rows = Array.from({ length: bound + 7 }, () => token({ expiresAt: new Date(now - HOUR) }));
    // 9 rows of 10 columns per statement: under D1's 100 bound parameters.
    const inserts = [];
    for (let i = 0; i < rows.length; i += 9) inserts.push(db.insert(singleUseTokens).values(rows.slice(i, i + 9)));
    await db.batch(inserts as [(typeof inserts)[number], ...(typeof inserts)[number][]]);

    const first = await housekeep(env, new Date(now));
    expect(first.removed.single_use_tokens).toBe(bound);
    expect(first.more).toBe(true);
    const second = await housekeep(env, new Date(now));
    expect(second.removed.single_use_tokens).toBe(7);
    expect(second.more).toBe(false);
  });
});
