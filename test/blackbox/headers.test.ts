import { describe, expect } from "vitest";
import {
  type Answer,
  BODY_LIMIT,
  bearer,
  type Client,
  client,
  expectError,
  expectStatus,
  it,
  newUser,
  once,
  summary,
} from "./helpers";

/** One account whose token the authenticated cases use. */
const user = once(() => client().register());

describe("secure headers on every kind of answer", () => {
  /** `json`: a JSON answer, which also gets the CSP; a 204 has no body to protect. */
  const secured = (res: Answer, json = true) => {
    const h = res.headers;
    expect(h["x-content-type-options"], "X-Content-Type-Options").toBe("nosniff");
    expect(h["referrer-policy"], "Referrer-Policy").toBeTruthy();
    expect(h["strict-transport-security"] ?? "", "Strict-Transport-Security").toMatch(/max-age=\d+/);
    if (json) expect(h["content-security-policy"] ?? "", "CSP").toMatch(/default-src 'none'/);
  };
  const kinds: [string, (t: Client) => Promise<Answer>, boolean?][] = [
    [
      "200 GET /health",
      async (t) => {
        const res = await t.get("/health");
        expectStatus(res, 200);
        return res;
      },
    ],
    [
      "200 text /welcome",
      async (t) => {
        const res = await t.get("/welcome", bearer((await user()).token));
        expectStatus(res, 200);
        return res;
      },
    ],
    [
      "201 POST /register",
      async (t) => {
        const res = await t.post("/register", newUser());
        expectStatus(res, 201);
        return res;
      },
    ],
    [
      "204 POST /logout",
      async (t) => {
        const { email, password } = await user();
        const { token } = JSON.parse((await t.post("/login", { email, password })).text);
        const res = await t.request("POST", "/logout", { headers: bearer(token) });
        expectStatus(res, 204);
        return res;
      },
      false,
    ],
    [
      "204 preflight",
      async (t) => {
        const res = await t.request("OPTIONS", "/register", {
          headers: { origin: "https://any.example", "access-control-request-method": "POST" },
        });
        expectStatus(res, 204);
        return res;
      },
    ],
    [
      "400 invalid_json",
      async (t) => {
        const res = await t.post("/login", "{");
        expectError(res, 400, "invalid_json");
        return res;
      },
    ],
    [
      "401 invalid_token",
      async (t) => {
        const res = await t.get("/me", bearer("x.y.z"));
        expectError(res, 401, "invalid_token");
        return res;
      },
    ],
    [
      "403 token_required",
      async (t) => {
        const res = await t.get("/welcome");
        expectError(res, 403, "token_required");
        return res;
      },
    ],
    [
      "404 not_found",
      async (t) => {
        const res = await t.get("/nope");
        expectError(res, 404, "not_found");
        return res;
      },
    ],
    [
      "405 method_not_allowed",
      async (t) => {
        const res = await t.request("PUT", "/login");
        expectError(res, 405, "method_not_allowed");
        return res;
      },
    ],
    [
      "413 payload_too_large",
      async (t) => {
        const res = await t.post("/login", { email: "a".repeat(BODY_LIMIT), password: "x" });
        expectError(res, 413, "payload_too_large");
        return res;
      },
    ],
    [
      "415 unsupported_media_type",
      async (t) => {
        const res = await t.post("/login", "{}", { "content-type": "text/plain" });
        expectError(res, 415, "unsupported_media_type");
        return res;
      },
    ],
  ];
  for (const [label, make, json = true] of kinds) {
    it(`secure headers on ${label}`, async ({ t }) => secured(await make(t), json));
  }
});

/** Cache-Control: `no-store` on every answer to an authenticated request and every answer
 * with a token or account data, errors included; the public documents keep their own. */
describe("caching", () => {
  const authed = async (t: Client, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = bearer((await user()).token);
    if (body !== undefined) headers["content-type"] = "application/json";
    return t.request(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  const noStore: [string, (t: Client) => Promise<Answer>][] = [
    ["200 GET /me", (t) => authed(t, "GET", "/me")],
    ["200 GET /sessions", (t) => authed(t, "GET", "/sessions")],
    ["200 PATCH /me", (t) => authed(t, "PATCH", "/me", { lastName: "Tester" })],
    ["400 PATCH /me", (t) => authed(t, "PATCH", "/me", {})],
    ["403 GET /admin/users (not an admin)", (t) => authed(t, "GET", "/admin/users")],
    ["200 text GET /welcome", (t) => authed(t, "GET", "/welcome")],
    ["401 GET /me with a bad token", (t) => t.get("/me", bearer("x.y.z"))],
    ["403 GET /sessions without a token", (t) => t.get("/sessions")],
    ["400 POST /login", (t) => t.post("/login", { email: newUser().email, password: "wrong-pass-1" })],
    ["401 POST /token/refresh", (t) => t.post("/token/refresh", { refresh_token: "bogus" })],
    ["404", (t) => t.get("/nope")],
  ];
  for (const [label, make] of noStore) {
    it(`Cache-Control: no-store on ${label}`, async ({ t }) => {
      const res = await make(t);
      expect(res.headers["cache-control"], `Cache-Control: ${summary(res)}`).toBe("no-store");
    });
  }

  for (const [path, expected] of [
    ["/openapi.json", "no-cache"],
    ["/docs", "no-cache"],
    ["/.well-known/jwks.json", "public, max-age=300"],
  ] as const) {
    it(`${path} keeps its own Cache-Control: ${expected}`, async ({ t }) => {
      const res = await t.get(path);
      expectStatus(res, 200);
      expect(res.headers["cache-control"], "Cache-Control").toBe(expected);
    });
  }
});
