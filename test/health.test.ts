import { describe, expect, it } from "vitest";
import { call, errorOf, newUser, postJson } from "./helpers";

/** A D1 binding that fails every call, the way an unreachable database does. */
const brokenDb = new Proxy({} as D1Database, {
  get: () => () => {
    throw new Error("D1_ERROR: Network connection lost.");
  },
});

describe("GET /health", () => {
  it("answers 200 {status: ok} after a D1 query", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers 503 JSON when D1 fails", async () => {
    const res = await call("/health", {}, { DB: brokenDb });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect((await errorOf(res)).code).toBe("service_unavailable");
  });
});

describe("database failures elsewhere", () => {
  it("answer 503 service_unavailable without SQL, D1 text or hashes", async () => {
    for (const res of [
      await postJson("/register", newUser(), {}, { DB: brokenDb }),
      await postJson("/login", { email: "a@example.com", password: "password1" }, {}, { DB: brokenDb }),
    ]) {
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(text).not.toMatch(/D1_|sql|insert|select|\$2[aby]\$/i);
      expect(JSON.parse(text).error.code).toBe("service_unavailable");
    }
  });
});
