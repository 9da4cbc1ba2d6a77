import { randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import { expectError, it } from "./helpers";

const allowOf = (header: string | string[] | undefined) => String(header ?? "").split(/\s*,\s*/);

describe("wrong methods", () => {
  for (const [method, path, mustAllow] of [
    ["PUT", "/register", ["POST"]],
    ["DELETE", "/login", ["POST"]],
    ["PATCH", "/welcome", ["GET", "POST"]],
    ["PUT", "/me", ["GET", "PATCH", "DELETE"]],
    ["GET", "/token/refresh", ["POST"]],
    ["POST", "/health", ["GET"]],
    ["GET", "/logout", ["POST"]],
    ["PATCH", "/sessions/some-id", ["DELETE"]],
    ["PROPFIND", "/me", ["GET"]],
  ] as const) {
    it(`${method} ${path} -> 405 method_not_allowed with Allow`, async ({ t }) => {
      const bodyless = method === "GET";
      const res = await t.request(method, path, {
        headers: bodyless ? {} : { "content-type": "application/json" },
        body: bodyless ? undefined : "{}",
      });
      expectError(res, 405, "method_not_allowed");
      const allow = allowOf(res.headers.allow);
      expect(allow, `Allow: ${res.headers.allow}`).toEqual(expect.arrayContaining([...mustAllow]));
      expect(allow, `Allow: ${res.headers.allow}`).not.toContain(method);
    });
  }

  for (const path of ["/welcome", "/login", "/no-such-path"]) {
    it(`TRACE ${path} is refused and echoes nothing`, async ({ t }) => {
      const secret = `hostile-${randomUUID()}`;
      const res = await t.request("TRACE", path, { headers: { authorization: `Bearer ${secret}`, cookie: secret } });
      expect(res.status, "TRACE answered").toBeGreaterThanOrEqual(400);
      expect(res.status, "TRACE answered").toBeLessThan(500);
      expect(res.text, "TRACE echoed the request").not.toContain(secret);
    });
  }
});

describe("odd paths", () => {
  for (const [method, path] of [
    ["GET", "/no-such-path"],
    ["POST", "/registerx"],
    ["GET", "/%2e%2e/%2e%2e/etc/passwd"],
    ["GET", "//register"],
    ["GET", "/welcome%00"],
    ["GET", `/${"a".repeat(8000)}`],
  ] as const) {
    it(`${method} ${path.length > 40 ? `${path.slice(0, 40)}…` : path} -> 404 not_found`, async ({ t }) => {
      expectError(await t.request(method, path), 404, "not_found");
    });
  }

  it("POST /register/ (trailing slash) is not a 405 that lists POST in Allow", async ({ t }) => {
    const res = await t.post("/register/", {});
    const allow = allowOf(res.headers.allow);
    expect(res.status === 405 && allow.includes("POST"), `405 with Allow: ${res.headers.allow}`).toBe(false);
    expectError(res, [400, 404], ["not_found", "invalid_input"]);
  });
});
