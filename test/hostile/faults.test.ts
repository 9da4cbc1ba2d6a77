import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bearer, call, errorOf, newUser, postJson, refresh, registered } from "../helpers";

/** The real D1, except that every batch also runs a statement that fails: D1 runs a
 * batch as one transaction, so none of the batch may stay written. */
function failingBatches(db: D1Database): D1Database {
  const proxy: D1Database = new Proxy(db, {
    get(target, property) {
      // The worker opens a D1 session per request; this one is the proxy itself.
      if (property === "withSession") return () => proxy;
      if (property === "getBookmark") return () => null;
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) =>
          // SQLite refuses abs() of the smallest integer ("integer overflow"): a statement
          // that fails at run time, unlike a missing table, which is a misconfiguration.
          target.batch([...statements, target.prepare("select abs(-9223372036854775808)")]);
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return proxy;
}

/** A D1 that is down: statements can be prepared (that happens in the worker), but
 * every round trip fails the way an unreachable database does. */
const lost = () => Promise.reject(new Error("D1_ERROR: Network connection lost."));
const downStatement: D1PreparedStatement = {
  bind: () => downStatement,
  first: lost,
  run: lost,
  all: lost,
  raw: lost,
} as unknown as D1PreparedStatement;
const downDb = {
  prepare: () => downStatement,
  batch: lost,
  exec: lost,
  withSession: () => downDb,
  getBookmark: () => null,
} as unknown as D1Database;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("D1 failures", () => {
  it.each([
    ["register", () => postJson("/register", newUser(), {}, { DB: downDb })],
    ["login", () => postJson("/login", { email: "a@example.com", password: "whatever-123" }, {}, { DB: downDb })],
    ["refresh", () => postJson("/token/refresh", { refresh_token: "x".repeat(43) }, {}, { DB: downDb })],
    ["health", () => call("/health", {}, { DB: downDb })],
  ])("answer %s with 503 service_unavailable and Retry-After", async (_label, request) => {
    const res = await request();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe("service_unavailable");
    expect(text).not.toMatch(/D1_|no such|sql|select|insert/i);
  });

  it("leaves no half-done registration when the batch fails (user and session roll back together)", async () => {
    const input = newUser();
    const res = await postJson("/register", input, {}, { DB: failingBatches(env.DB) });
    expect(res.status).toBe(503);
    expect(await env.DB.prepare("select id from users where email = ?").bind(input.email).first()).toBeNull();
    expect((await postJson("/register", input)).status).toBe(201);
  });

  it("leaves no half-done rotation: a failed refresh keeps the old token usable", async () => {
    const { refreshToken } = await registered();
    const res = await postJson("/token/refresh", { refresh_token: refreshToken }, {}, { DB: failingBatches(env.DB) });
    expect(res.status).toBe(503);
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it("leaves no half-done password change", async () => {
    const { input, token } = await registered();
    const res = await call(
      "/me/password",
      {
        method: "POST",
        headers: { ...bearer(token), "content-type": "application/json" },
        body: JSON.stringify({ currentPassword: input.password, newPassword: "a-brand-new-one" }),
      },
      { DB: failingBatches(env.DB) },
    );
    expect(res.status).toBe(503);
    expect((await postJson("/login", { email: input.email, password: input.password })).status).toBe(200);
  });
});

describe("logs", () => {
  it("are one JSON object per line with the request id, and never carry secrets", async () => {
    const lines: string[] = [];
    for (const level of ["log", "warn", "error", "info", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const { input, token, refreshToken } = await registered();
    await postJson("/login", { email: input.email, password: "wrong-password" });
    const rotated = await refresh(refreshToken);
    const pair = (await rotated.json()) as { token: string; refresh_token: string };
    // Reuse after the interval (here: none at all): logged as a warning.
    await postJson("/token/refresh", { refresh_token: refreshToken }, {}, { REFRESH_REUSE_INTERVAL: "0" });
    await postJson("/register", newUser(), {}, { DB: downDb }); // logged as an error
    await call("/health", {}, { TOKEN_KEY: "short" }); // misconfiguration, logged
    const res = await call("/health", { headers: { "X-Request-Id": "trace-me-123" } }, { DB: downDb });
    expect((await errorOf(res)).code).toBe("service_unavailable");

    const hash =
      (
        await env.DB.prepare("select password_hash from users where email = ?")
          .bind(input.email)
          .first<{ password_hash: string }>()
      )?.password_hash ?? "";
    const secrets = [
      input.password,
      "wrong-password",
      token,
      refreshToken,
      pair.token,
      pair.refresh_token,
      hash,
      env.TOKEN_KEY,
    ];
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines.filter((line) => line.startsWith("{"))) {
      const entry = JSON.parse(line);
      expect(entry.request_id, line).toBeTruthy();
      for (const secret of secrets) expect(line).not.toContain(secret);
      expect(line).not.toMatch(/\$2[aby]\$/);
    }
    expect(lines.some((line) => line.includes('"request_id":"trace-me-123"'))).toBe(true);
    expect(lines.some((line) => line.includes("refresh_token_reuse"))).toBe(true);
  });
});
