import { describe, expect, it } from "vitest";
import { ConfigError, readConfig, readCors } from "../src/config";
import { call, errorOf, newUser, postJson } from "./helpers";

const KEY = "k".repeat(32);

describe("readConfig", () => {
  it("applies the tutorial's defaults", () => {
    expect(readConfig({ TOKEN_KEY: KEY })).toEqual({
      signing: { alg: "HS256", secret: KEY },
      issuer: undefined,
      audience: undefined,
      tokenTtlSeconds: 5 * 3600,
      refreshTtlSeconds: 30 * 24 * 3600,
      bcryptCost: 10,
      allowQueryToken: false,
      lockout: { after: 5, baseSeconds: 60, maxSeconds: 3600 },
      cookie: { sameSite: "Lax", domain: undefined, partitioned: false },
      publicOrigin: undefined,
    });
    expect(readCors({})).toEqual({ origins: "*", credentials: false });
  });

  it.each([
    ["5h", 18000],
    ["15m", 900],
    ["30d", 2592000],
    ["90s", 90],
    ["3600", 3600],
  ])("reads TOKEN_TTL %s as %i seconds", (ttl, seconds) => {
    expect(readConfig({ TOKEN_KEY: KEY, TOKEN_TTL: ttl }).tokenTtlSeconds).toBe(seconds);
  });

  it("splits and trims CORS_ORIGINS", () => {
    expect(readCors({ CORS_ORIGINS: "https://a.example, http://localhost:5173" }).origins).toEqual([
      "https://a.example",
      "http://localhost:5173",
    ]);
  });

  it.each([
    ["a missing TOKEN_KEY", {}],
    ["an empty TOKEN_KEY", { TOKEN_KEY: "" }],
    ["a 31-byte TOKEN_KEY", { TOKEN_KEY: "k".repeat(31) }],
    ["BCRYPT_COST below 10 outside tests", { TOKEN_KEY: KEY, BCRYPT_COST: "9" }],
    ["BCRYPT_COST 4 outside tests", { TOKEN_KEY: KEY, BCRYPT_COST: "4" }],
    ["BCRYPT_COST below 4 in tests", { TOKEN_KEY: KEY, BCRYPT_COST: "3", ENVIRONMENT: "test" }],
    ["BCRYPT_COST that is not a number", { TOKEN_KEY: KEY, BCRYPT_COST: "ten" }],
    ["BCRYPT_COST above 14", { TOKEN_KEY: KEY, BCRYPT_COST: "15" }],
    ["TOKEN_TTL without a number", { TOKEN_KEY: KEY, TOKEN_TTL: "h" }],
    ["TOKEN_TTL of zero", { TOKEN_KEY: KEY, TOKEN_TTL: "0" }],
    ["TOKEN_TTL with an unknown unit", { TOKEN_KEY: KEY, TOKEN_TTL: "5y" }],
    ["TOKEN_TTL over 30 days", { TOKEN_KEY: KEY, TOKEN_TTL: "31d" }],
    ["REFRESH_TTL over a year", { TOKEN_KEY: KEY, REFRESH_TTL: "366d" }],
    ["REFRESH_TTL that is not a duration", { TOKEN_KEY: KEY, REFRESH_TTL: "30 days" }],
    ["ALLOW_QUERY_TOKEN that is not a boolean", { TOKEN_KEY: KEY, ALLOW_QUERY_TOKEN: "yes" }],
    ["a CORS origin with a path", { TOKEN_KEY: KEY, CORS_ORIGINS: "https://a.example/app" }],
    ["a CORS origin with a trailing slash", { TOKEN_KEY: KEY, CORS_ORIGINS: "https://a.example/" }],
    ["a CORS origin of null", { TOKEN_KEY: KEY, CORS_ORIGINS: "null" }],
    ["a CORS wildcard inside a list", { TOKEN_KEY: KEY, CORS_ORIGINS: "https://a.example,*" }],
    ["an empty CORS_ORIGINS", { TOKEN_KEY: KEY, CORS_ORIGINS: " , " }],
  ])("refuses %s", (_label, env) => {
    expect(() => readConfig(env)).toThrow(ConfigError);
  });

  it("allows a low BCRYPT_COST only when ENVIRONMENT is test", () => {
    expect(readConfig({ TOKEN_KEY: KEY, BCRYPT_COST: "4", ENVIRONMENT: "test" }).bcryptCost).toBe(4);
  });
});

describe("a misconfigured deployment", () => {
  it.each([
    ["no TOKEN_KEY", { TOKEN_KEY: undefined as unknown as string }],
    ["a short TOKEN_KEY", { TOKEN_KEY: "short" }],
    ["a bad TOKEN_TTL", { TOKEN_TTL: "forever" }],
    ["a bad CORS_ORIGINS", { CORS_ORIGINS: "https://a.example/" }],
  ])("with %s fails every request closed with 500 server_misconfigured", async (_label, overrides) => {
    const responses = [
      await call("/health", {}, overrides),
      await postJson("/register", newUser(), {}, overrides),
      await postJson("/login", { email: "a@example.com", password: "password1" }, {}, overrides),
      await call("/welcome", { headers: { "x-access-token": "x" } }, overrides),
    ];
    for (const res of responses) {
      expect(res.status).toBe(500);
      const error = await errorOf(res);
      expect(error).toEqual({ code: "server_misconfigured", message: "Server is misconfigured" });
    }
  });

  it("never issues a token signed with an empty key", async () => {
    const res = await postJson("/register", newUser(), {}, { TOKEN_KEY: "" });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('token":');
  });
});
