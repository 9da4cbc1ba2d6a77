import { describe, expect, it } from "vitest";
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

  it("is not reported unless D1_COUNT is true", async () => {
    const res = await postJson("/register", newUser());
    expect(res.status).toBe(201);
    expect(res.headers.has("x-d1-round-trips")).toBe(false);
  });
});
