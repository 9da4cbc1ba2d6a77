import { describe, expect, inject, it } from "vitest";
import { ALLOWED_ORIGINS } from "./servers";

const { defaults, allowlist } = inject("servers");

function preflight(base: string, path: string, origin: string) {
  return fetch(`${base}${path}`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type",
    },
  });
}

describe("CORS over real HTTP", () => {
  it("allows every origin by default, like the tutorial's app.use(cors())", async () => {
    const res = await preflight(defaults, "/register", "https://any.example");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-max-age")).toBe("600");
  });

  // Near-miss origins are refused in test/blackbox/cors.test.ts, the one place for them.
  it("echoes each listed origin when CORS_ORIGINS is set with --var", async () => {
    for (const origin of ALLOWED_ORIGINS) {
      const res = await preflight(allowlist, "/welcome", origin);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("vary")?.toLowerCase()).toContain("origin");
    }
  });

  it("keeps the allowed origin on error responses", async () => {
    const origin = ALLOWED_ORIGINS[0] ?? "";
    const res = await fetch(`${allowlist}/welcome`, { headers: { Origin: origin } });
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
  });

  it("accepts ?token= when started with --var ALLOW_QUERY_TOKEN:true", async () => {
    const reg = await fetch(`${allowlist}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        firstName: "Q",
        lastName: "T",
        email: `q-${crypto.randomUUID()}@example.com`,
        password: "query-token-1",
      }),
    });
    const { token } = (await reg.json()) as { token: string };
    const res = await fetch(`${allowlist}/welcome?token=${token}`);
    expect(res.status).toBe(200);
  });
});
