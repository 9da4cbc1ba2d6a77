import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countRoundTrips, type D1Client } from "../src/platform/d1-counting";
import { openDb } from "../src/platform/db";
import { users } from "../src/platform/schema";
import { call, newUser, postJson, registered } from "./helpers";

const counting = { D1_COUNT: "true" };

function roundTrips(res: Response): number {
  const value = res.headers.get("x-d1-round-trips");
  if (value === null) throw new Error(`no X-D1-Round-Trips header on ${res.status}`);
  return Number(value);
}

describe("D1 round trips per request (D1_COUNT=true)", () => {
  it("GET /welcome makes none: the token alone is enough", async () => {
    const { token } = await registered();
    const res = await call("/welcome", { headers: { authorization: `Bearer ${token}` } }, counting);
    expect(res.status).toBe(200);
    expect(roundTrips(res)).toBe(0);
  });

  it("POST /register makes one: the INSERT ... RETURNING decides duplicates", async () => {
    const user = newUser();
    const created = await postJson("/register", user, {}, counting);
    expect(created.status).toBe(201);
    expect(roundTrips(created)).toBe(1);
    const duplicate = await postJson("/register", { ...user, email: user.email.toUpperCase() }, {}, counting);
    expect(duplicate.status).toBe(409);
    expect(roundTrips(duplicate)).toBe(1);
  });

  it("POST /login makes two: one read (user and failure record, batched), one write (session, or failure)", async () => {
    const { input } = await registered();
    for (const body of [
      { email: input.email, password: input.password },
      { email: input.email, password: `${input.password}!` },
      { email: `nobody-${input.email}`, password: input.password },
    ]) {
      const res = await postJson("/login", body, {}, counting);
      expect(roundTrips(res)).toBe(2);
    }
  });

  it("GET /me makes one (the session check reads the user), POST /token/refresh two (read, rotate)", async () => {
    const { token, refreshToken } = await registered();
    expect(roundTrips(await call("/me", { headers: { authorization: `Bearer ${token}` } }, counting))).toBe(1);
    expect(roundTrips(await postJson("/token/refresh", { refresh_token: refreshToken }, {}, counting))).toBe(2);
  });

  it("POST /token/refresh makes two on every path: a reuse within the interval, racing refreshes, theft", async () => {
    const { refreshToken } = await registered();
    const racing = await Promise.all([
      postJson("/token/refresh", { refresh_token: refreshToken }, {}, counting),
      postJson("/token/refresh", { refresh_token: refreshToken }, {}, counting),
    ]);
    expect(racing.map((res) => res.status)).toEqual([200, 200]);
    expect(racing.map(roundTrips)).toEqual([2, 2]);
    const retry = await postJson("/token/refresh", { refresh_token: refreshToken }, {}, counting);
    expect(retry.status).toBe(200);
    expect(roundTrips(retry)).toBe(2);
    const theft = await postJson(
      "/token/refresh",
      { refresh_token: refreshToken },
      {},
      { ...counting, REFRESH_REUSE_INTERVAL: "0" },
    );
    expect(theft.status).toBe(401);
    expect(roundTrips(theft)).toBe(2);
  });

  it("a CORS preflight never reaches the database, and a 404 makes none", async () => {
    const preflight = await call(
      "/login",
      { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" } },
      counting,
    );
    expect(preflight.status).toBe(204);
    // CORS answers before the middleware that opens the D1 session, so nothing is counted.
    expect(preflight.headers.has("x-d1-round-trips")).toBe(false);
    const missing = await call("/no-such-route", {}, counting);
    expect(missing.status).toBe(404);
    expect(roundTrips(missing)).toBe(0);
  });

  it("answers and counts as usual with D1_COUNT=twice and X-D1-Twice: 1 (the bench's measure of local D1)", async () => {
    const { input } = await registered();
    const twice = { D1_COUNT: "twice" };
    const asked = { "x-d1-twice": "1" };
    const failures = async () =>
      (
        await env.DB.prepare("select failures from login_failures where email = ?")
          .bind(input.email)
          .first<{ failures: number }>()
      )?.failures;

    const wrong = await postJson("/login", { email: input.email, password: `${input.password}!` }, asked, twice);
    expect(wrong.status).toBe(400);
    expect(roundTrips(wrong)).toBe(2);
    // The failure's write batch also inserts an audit event: run again, its id is taken, so
    // the whole second batch fails and the count is not doubled.
    expect(await failures()).toBe(1);
    const login = await postJson("/login", { email: input.email, password: input.password }, asked, twice);
    expect(login.status).toBe(200);
    expect(roundTrips(login)).toBe(2);
    const me = await call(
      "/me",
      { headers: { authorization: `Bearer ${(await login.json<{ token: string }>()).token}`, ...asked } },
      twice,
    );
    expect(me.status).toBe(200);
    expect(roundTrips(me)).toBe(1);
  });

  it("is not reported unless D1_COUNT is true", async () => {
    const res = await postJson("/register", newUser());
    expect(res.status).toBe(201);
    expect(res.headers.has("x-d1-round-trips")).toBe(false);
  });
});

/** A stand-in D1 session that records each call reaching it. */
function recorder() {
  const calls: string[] = [];
  const answer = <T>(call: string, value: T) => {
    calls.push(call);
    return Promise.resolve(value);
  };
  const statement = (sql: string) => ({
    bind: () => statement(sql),
    first: () => answer(`first ${sql}`, null),
    run: () => answer(`run ${sql}`, { success: true, meta: {}, results: [] }),
    all: () => answer(`all ${sql}`, { success: true, meta: {}, results: [] }),
    raw: () => answer(`raw ${sql}`, []),
  });
  const client = {
    prepare: (sql: string) => statement(sql),
    batch: (list: unknown[]) => answer(`batch of ${list.length}`, []),
  } as unknown as D1Client;
  return { client, calls };
}

describe("countRoundTrips", () => {
  it("counts each call once and, with twice, sends each call to D1 a second time", async () => {
    for (const twice of [false, true]) {
      const { client, calls } = recorder();
      const counted = countRoundTrips(client, { twice });
      await counted.client.prepare("select 1").bind().first();
      await counted.client.prepare("select 2").all();
      await counted.client.batch([counted.client.prepare("insert 1"), counted.client.prepare("insert 2")]);
      expect(counted.count()).toBe(3);
      const once = ["first select 1", "all select 2", "batch of 2"];
      expect(calls).toEqual(twice ? once.flatMap((c) => [c, c]) : once);
    }
  });

  it("answers with the first run and ignores an error of the second", async () => {
    let runs = 0;
    const client = {
      prepare: () => ({
        first: async () => {
          runs++;
          if (runs === 2) throw new Error("UNIQUE constraint failed");
          return { id: "first" };
        },
      }),
      batch: async () => [],
    } as unknown as D1Client;
    const counted = countRoundTrips(client, { twice: true });
    await expect(counted.client.prepare("insert").first()).resolves.toEqual({ id: "first" });
    expect(runs).toBe(2);
  });

  it("runs calls twice only for D1_COUNT=twice, X-D1-Twice: 1 and ENVIRONMENT dev or test", async () => {
    const cases: [Record<string, string>, string | undefined, number][] = [
      [{ D1_COUNT: "twice", ENVIRONMENT: "test" }, "1", 2],
      [{ D1_COUNT: "twice", ENVIRONMENT: "dev" }, "1", 2],
      [{ D1_COUNT: "twice", ENVIRONMENT: "" }, "1", 1],
      [{ D1_COUNT: "twice", ENVIRONMENT: "production" }, "1", 1],
      [{ D1_COUNT: "twice", ENVIRONMENT: "test" }, undefined, 1],
      [{ D1_COUNT: "true", ENVIRONMENT: "test" }, "1", 1],
    ];
    for (const [vars, header, expected] of cases) {
      const { client, calls } = recorder();
      const DB = { withSession: () => ({ ...client, getBookmark: () => null }) } as unknown as D1Database;
      const { db } = openDb({ DB, ...vars }, { header: (name) => (name === "X-D1-Twice" ? header : undefined) });
      await db.select().from(users);
      expect(calls.length, JSON.stringify({ vars, header })).toBe(expected);
    }
  });
});
