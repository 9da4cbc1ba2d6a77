import { describe, expect, it } from "vitest";
import { call, errorOf, newUser, postJson, registered } from "../helpers";

const ALLOWLIST = { CORS_ORIGINS: "https://app.example.com" };

function preflight(origin: string, overrides = {}, headers: Record<string, string> = {}) {
  return call(
    "/login",
    { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST", ...headers } },
    overrides,
  );
}

describe("hostile CORS", () => {
  // Near-miss origins, 100 KB preflights and echoed Vary headers: test/blackbox/cors.test.ts,
  // over HTTP against any server.
  it("never sends * together with Access-Control-Allow-Credentials", async () => {
    for (const overrides of [{}, { CORS_CREDENTIALS: "false" }]) {
      const res = await preflight("https://anywhere.example", overrides);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
  });

  it("refuses CORS_CREDENTIALS=true without an allowlist at config time", async () => {
    const overrides = { CORS_CREDENTIALS: "true", CORS_ORIGINS: "*" };
    const res = await call("/health", { headers: { Origin: "https://anywhere.example" } }, overrides);
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe("server_misconfigured");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sends credentials only with an exact listed origin when CORS_CREDENTIALS=true", async () => {
    const overrides = { ...ALLOWLIST, CORS_CREDENTIALS: "true" };
    const res = await preflight("https://app.example.com", overrides);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
  });
});

describe("hostile methods", () => {
  it.each(["PUT", "PATCH", "DELETE", "GET"])("answers %s /login with 405 and Allow", async (method) => {
    const res = await call("/login", { method });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST, OPTIONS");
  });

  it.each(["/welcome", "/register", "/nowhere", "/health"])("refuses TRACE on %s", async (path) => {
    // Over real HTTP workerd may refuse TRACE first; the app itself must answer 405.
    const res = await call(path, { method: "TRACE" });
    expect(res.status).toBe(405);
    expect((await errorOf(res)).code).toBe("method_not_allowed");
  });
});

describe("secure headers", () => {
  async function responses() {
    const { token } = await registered();
    return {
      ok: await call("/health"),
      created: await postJson("/register", newUser()),
      text: await call("/welcome", { headers: { Authorization: `Bearer ${token}` } }),
      forbidden: await call("/welcome"),
      notFound: await call("/nowhere"),
      notAllowed: await call("/login", { method: "PUT" }),
      preflight: await preflight("https://anywhere.example"),
      misconfigured: await call("/health", {}, { TOKEN_KEY: "short" }),
      noContent: await call("/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }),
    };
  }

  it("puts nosniff, Referrer-Policy, HSTS and a strict CSP on every kind of response", async () => {
    for (const [kind, res] of Object.entries(await responses())) {
      expect(res.headers.get("x-content-type-options"), kind).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), kind).toBe("no-referrer");
      expect(res.headers.get("strict-transport-security"), kind).toMatch(/max-age=\d+/);
      expect(res.headers.get("content-security-policy"), kind).toContain("default-src 'none'");
      expect(res.headers.get("x-request-id"), kind).toBeTruthy();
    }
  });
});
