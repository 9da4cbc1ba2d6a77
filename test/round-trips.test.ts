import { describe, expect, it } from "vitest";
import { call, countingD1, newUser, postJson, promote, registered, roundTripsOf } from "./helpers";

// Round trips are counted on the D1 binding the test hands the app (`roundTripsOf`,
// test/helpers.ts): nothing in src/ counts them.
describe("D1 round trips per request", () => {
  it("GET /welcome makes none: the token alone is enough", async () => {
    const { token } = await registered();
    const { res, roundTrips } = await roundTripsOf((b) =>
      call("/welcome", { headers: { authorization: `Bearer ${token}` } }, b),
    );
    expect(res.status).toBe(200);
    expect(roundTrips).toBe(0);
  });

  it("POST /register makes one: the INSERT ... RETURNING decides duplicates", async () => {
    const user = newUser();
    const created = await roundTripsOf((b) => postJson("/register", user, {}, b));
    expect(created.res.status).toBe(201);
    expect(created.roundTrips).toBe(1);
    const duplicate = await roundTripsOf((b) =>
      postJson("/register", { ...user, email: user.email.toUpperCase() }, {}, b),
    );
    expect(duplicate.res.status).toBe(409);
    expect(duplicate.roundTrips).toBe(1);
  });

  it("POST /login makes two: one read (user and failure record, batched), one write (session, or failure)", async () => {
    const { input } = await registered();
    for (const body of [
      { email: input.email, password: input.password },
      { email: input.email, password: `${input.password}!` },
      { email: `nobody-${input.email}`, password: input.password },
    ]) {
      const { roundTrips } = await roundTripsOf((b) => postJson("/login", body, {}, b));
      expect(roundTrips).toBe(2);
    }
  });

  it("GET /admin/oauth/clients makes two: the session and role read once (the /admin/* guard and the route's own share it), the list", async () => {
    const admin = await registered();
    await promote(admin.body.id);
    const { res, roundTrips } = await roundTripsOf((b) =>
      call("/admin/oauth/clients", { headers: { authorization: `Bearer ${admin.token}` } }, b),
    );
    expect(res.status).toBe(200);
    expect(roundTrips).toBe(2);
  });

  it("GET /me makes one (the session check reads the user), POST /token/refresh two (read, rotate)", async () => {
    const { token, refreshToken } = await registered();
    const me = await roundTripsOf((b) => call("/me", { headers: { authorization: `Bearer ${token}` } }, b));
    expect(me.roundTrips).toBe(1);
    const refresh = await roundTripsOf((b) => postJson("/token/refresh", { refresh_token: refreshToken }, {}, b));
    expect(refresh.roundTrips).toBe(2);
  });

  it("POST /token/refresh makes two on every path: a reuse within the interval, racing refreshes, theft", async () => {
    const { refreshToken } = await registered();
    const refresh = (extra: Partial<Cloudflare.Env> = {}) =>
      roundTripsOf((b) => postJson("/token/refresh", { refresh_token: refreshToken }, {}, { ...b, ...extra }));
    const racing = await Promise.all([refresh(), refresh()]);
    expect(racing.map(({ res }) => res.status)).toEqual([200, 200]);
    expect(racing.map(({ roundTrips }) => roundTrips)).toEqual([2, 2]);
    const retry = await refresh();
    expect(retry.res.status).toBe(200);
    expect(retry.roundTrips).toBe(2);
    const theft = await refresh({ REFRESH_REUSE_INTERVAL: "0" });
    expect(theft.res.status).toBe(401);
    expect(theft.roundTrips).toBe(2);
  });

  it("a CORS preflight never reaches the database, and a 404 makes none", async () => {
    const preflight = await roundTripsOf((b) =>
      call(
        "/login",
        { method: "OPTIONS", headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" } },
        b,
      ),
    );
    expect(preflight.res.status).toBe(204);
    // CORS answers before the middleware that opens the D1 session: not even a session is opened.
    expect(preflight.roundTrips).toBe(0);
    expect(preflight.sessions).toBe(0);
    const missing = await roundTripsOf((b) => call("/no-such-route", {}, b));
    expect(missing.res.status).toBe(404);
    expect(missing.roundTrips).toBe(0);
  });
});

/** A stand-in D1 database that records each call reaching it. */
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
  };
  const db = { ...client, withSession: () => ({ ...client, getBookmark: () => null }) } as unknown as D1Database;
  return { db, calls };
}

describe("countingD1 (the counter the tests above rely on)", () => {
  it("counts each statement run and each batch once, and passes every call on", async () => {
    const { db, calls } = recorder();
    const counted = countingD1(db);
    const session = counted.DB.withSession("first-unconstrained");
    await session.prepare("select 1").bind().first();
    await session.prepare("select 2").all();
    await session.batch([session.prepare("insert 1"), session.prepare("insert 2")]);
    await counted.DB.prepare("select 3").run();
    expect(counted.roundTrips()).toBe(4);
    expect(counted.sessions()).toBe(1);
    expect(calls).toEqual(["first select 1", "all select 2", "batch of 2", "run select 3"]);
  });
});
