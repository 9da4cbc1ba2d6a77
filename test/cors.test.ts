import { describe, expect, it } from "vitest";
import { call, postJson } from "./helpers";

const METHODS = ["get", "post", "patch", "delete", "options"];
const ALLOWLIST = { CORS_ORIGINS: "https://app.example.com, http://localhost:5173" };

function preflight(path: string, origin: string, overrides = {}) {
  return call(
    path,
    {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization",
      },
    },
    overrides,
  );
}

function listOf(header: string | null): string[] {
  return (header ?? "")
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);
}

describe("CORS with the default CORS_ORIGINS=*", () => {
  it("answers a preflight from any origin with 204, the methods, headers and max-age", async () => {
    const res = await preflight("/register", "https://anywhere.example");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(listOf(res.headers.get("access-control-allow-methods"))).toEqual(METHODS);
    expect(listOf(res.headers.get("access-control-allow-headers"))).toEqual([
      "content-type",
      "authorization",
      "x-access-token",
    ]);
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("allows X-D1-Bookmark only to preflights that ask for it, and exposes it", async () => {
    const asked = await call("/me", {
      method: "OPTIONS",
      headers: {
        Origin: "https://anywhere.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,x-d1-bookmark",
      },
    });
    expect(listOf(asked.headers.get("access-control-allow-headers"))).toContain("x-d1-bookmark");
    const plain = await preflight("/me", "https://anywhere.example");
    expect(listOf(plain.headers.get("access-control-allow-headers"))).not.toContain("x-d1-bookmark");
    expect(listOf(plain.headers.get("access-control-expose-headers"))).toEqual(["x-request-id", "x-d1-bookmark"]);
  });

  it("never lets a preflight of a protected route meet auth", async () => {
    const res = await preflight("/welcome", "https://anywhere.example");
    expect(res.status).toBe(204);
  });

  it("adds Access-Control-Allow-Origin to normal and error responses", async () => {
    const ok = await call("/health", { headers: { Origin: "https://anywhere.example" } });
    const denied = await call("/welcome", { headers: { Origin: "https://anywhere.example" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("*");
    expect(denied.status).toBe(403);
    expect(denied.headers.get("access-control-allow-origin")).toBe("*");
  });
});

// Near-miss origins (suffixes, other schemes and ports, letter case, null...) are refused in
// test/blackbox/cors.test.ts, the one place for them, over HTTP against any server.
describe("CORS with an allowlist", () => {
  it("answers a preflight from a listed origin with that exact origin and Vary: Origin", async () => {
    for (const origin of ["https://app.example.com", "http://localhost:5173"]) {
      const res = await preflight("/login", origin, ALLOWLIST);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(listOf(res.headers.get("vary"))).toContain("origin");
      expect(listOf(res.headers.get("access-control-allow-methods"))).toEqual(METHODS);
      expect(res.headers.get("access-control-max-age")).toBe("600");
    }
  });

  it("keeps CORS headers on 401, 403, 404, 413 and 415 answers so the browser can read them", async () => {
    const origin = "https://app.example.com";
    const responses = [
      await call("/welcome", { headers: { Origin: origin, Authorization: "Bearer nope" } }, ALLOWLIST),
      await call("/welcome", { headers: { Origin: origin } }, ALLOWLIST),
      await call("/nowhere", { headers: { Origin: origin } }, ALLOWLIST),
      await postJson("/register", { padding: "x".repeat(17 * 1024) }, { Origin: origin }, ALLOWLIST),
      await call(
        "/login",
        { method: "POST", headers: { Origin: origin, "content-type": "text/plain" }, body: "{}" },
        ALLOWLIST,
      ),
    ];
    expect(responses.map((res) => res.status)).toEqual([401, 403, 404, 413, 415]);
    for (const res of responses) {
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(listOf(res.headers.get("vary"))).toContain("origin");
    }
  });

  it("keeps CORS working when the rest of the configuration is broken", async () => {
    const origin = "https://app.example.com";
    const broken = { ...ALLOWLIST, TOKEN_KEY: "short" };
    const pre = await preflight("/register", origin, broken);
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(origin);
    const res = await postJson("/register", {}, { Origin: origin }, broken);
    expect(res.status).toBe(500);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
  });

  it("allows no origin at all when CORS_ORIGINS is invalid", async () => {
    const pre = await preflight("/register", "https://a.example", { CORS_ORIGINS: "https://a.example/" });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
  });
});
