import { describe, expect, it } from "vitest";
import { ConfigError, readConfig, readCors } from "../src/platform/config";
import { call, errorOf, newUser, postJson } from "./helpers";

const KEY = "k".repeat(32);
/** Every required secret, valid. */
const SECRETS = { TOKEN_KEY: KEY, MFA_ENCRYPTION_KEY: "m".repeat(32) };

describe("readConfig", () => {
  it("applies the tutorial's defaults", () => {
    const { settings, ...config } = readConfig({ ...SECRETS });
    expect(config).toEqual({
      signing: { alg: "HS256", secret: KEY },
      issuer: undefined,
      audience: undefined,
      tokenTtlSeconds: 5 * 3600,
      refreshTtlSeconds: 30 * 24 * 3600,
      refreshReuseSeconds: 10,
      bcryptCost: 10,
      allowQueryToken: false,
      lockout: { after: 5, baseSeconds: 60, maxSeconds: 3600 },
      auditRetentionSeconds: 90 * 24 * 3600,
      appName: "edge-auth-api",
      mfaKey: SECRETS.MFA_ENCRYPTION_KEY,
      webauthn: {
        rpId: "localhost",
        rpName: "edge-auth-api",
        origins: ["http://localhost:8787", "http://localhost:5173"],
      },
      mail: {
        transport: "none",
        from: { email: "" },
        publicUrl: "",
        appUrl: undefined,
        smtp: undefined,
        cooldownSeconds: 60,
        requireVerification: false,
      },
      cookie: { sameSite: "Lax", domain: undefined, partitioned: false },
      cors: { origins: "*", credentials: false },
      publicOrigin: undefined,
      redirectOrigins: [],
      social: { providers: [], autoLink: "verified" },
      oauth: {
        enabled: false,
        issuer: "",
        resources: [],
        scopes: [],
        dynamicRegistration: false,
        metadataDocuments: true,
        localDocuments: false,
        codeTtlSeconds: 60,
        accessTtlSeconds: 3600,
      },
    });
    expect(readCors({})).toEqual({ origins: "*", credentials: false });
  });

  it("refuses OAUTH_PROVIDER=true with HS256 or without PUBLIC_URL, naming both settings", () => {
    expect(() => readConfig({ ...SECRETS, OAUTH_PROVIDER: "true", PUBLIC_URL: "https://id.example.com" })).toThrow(
      /OAUTH_PROVIDER=true needs JWT_ALG ES256, EdDSA or RS256/,
    );
    expect(() => readConfig({ ...SECRETS, OAUTH_PROVIDER: "true" })).toThrow(/OAUTH_PROVIDER=true needs PUBLIC_URL/);
    expect(() => readConfig({ ...SECRETS, OAUTH_RESOURCES: "not a uri" })).toThrow(/OAUTH_RESOURCES/);
    expect(() => readConfig({ ...SECRETS, OAUTH_SCOPES: 'a"b' })).toThrow(/OAUTH_SCOPES/);
    expect(
      readConfig({ ...SECRETS, OAUTH_RESOURCES: "https://mcp.example.com/mcp, https://api.example.com/" }).oauth
        .resources,
    ).toEqual(["https://mcp.example.com/mcp", "https://api.example.com/"]);
  });

  it("reads AUDIT_RETENTION and refuses one that is not a duration", () => {
    expect(readConfig({ ...SECRETS, AUDIT_RETENTION: "7d" }).auditRetentionSeconds).toBe(7 * 24 * 3600);
    expect(() => readConfig({ ...SECRETS, AUDIT_RETENTION: "forever" })).toThrow(/AUDIT_RETENTION/);
  });

  it.each([
    ["5h", 18000],
    ["15m", 900],
    ["30d", 2592000],
    ["90s", 90],
    ["3600", 3600],
  ])("reads TOKEN_TTL %s as %i seconds", (ttl, seconds) => {
    expect(readConfig({ ...SECRETS, TOKEN_TTL: ttl }).tokenTtlSeconds).toBe(seconds);
  });

  it.each([
    ["10s", 10],
    ["0", 0],
    ["0s", 0],
    ["2", 2],
    ["1m", 60],
    ["60s", 60],
  ])("reads REFRESH_REUSE_INTERVAL %s as %i seconds", (interval, seconds) => {
    expect(readConfig({ ...SECRETS, REFRESH_REUSE_INTERVAL: interval }).refreshReuseSeconds).toBe(seconds);
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
    ["BCRYPT_COST below 10 outside tests", { ...SECRETS, BCRYPT_COST: "9" }],
    ["BCRYPT_COST 4 outside tests", { ...SECRETS, BCRYPT_COST: "4" }],
    ["BCRYPT_COST below 4 in tests", { ...SECRETS, BCRYPT_COST: "3", ENVIRONMENT: "test" }],
    ["BCRYPT_COST that is not a number", { ...SECRETS, BCRYPT_COST: "ten" }],
    ["BCRYPT_COST above 14", { ...SECRETS, BCRYPT_COST: "15" }],
    ["TOKEN_TTL without a number", { ...SECRETS, TOKEN_TTL: "h" }],
    ["TOKEN_TTL of zero", { ...SECRETS, TOKEN_TTL: "0" }],
    ["TOKEN_TTL with an unknown unit", { ...SECRETS, TOKEN_TTL: "5y" }],
    ["TOKEN_TTL over 30 days", { ...SECRETS, TOKEN_TTL: "31d" }],
    ["REFRESH_TTL over a year", { ...SECRETS, REFRESH_TTL: "366d" }],
    ["REFRESH_TTL that is not a duration", { ...SECRETS, REFRESH_TTL: "30 days" }],
    ["REFRESH_REUSE_INTERVAL over 60 s", { ...SECRETS, REFRESH_REUSE_INTERVAL: "61s" }],
    ["REFRESH_REUSE_INTERVAL of 2 minutes", { ...SECRETS, REFRESH_REUSE_INTERVAL: "2m" }],
    ["a negative REFRESH_REUSE_INTERVAL", { ...SECRETS, REFRESH_REUSE_INTERVAL: "-1" }],
    ["REFRESH_REUSE_INTERVAL that is not a duration", { ...SECRETS, REFRESH_REUSE_INTERVAL: "ten" }],
    ["an empty REFRESH_REUSE_INTERVAL", { ...SECRETS, REFRESH_REUSE_INTERVAL: "" }],
    ["a fractional REFRESH_REUSE_INTERVAL", { ...SECRETS, REFRESH_REUSE_INTERVAL: "1.5s" }],
    ["ALLOW_QUERY_TOKEN that is not a boolean", { ...SECRETS, ALLOW_QUERY_TOKEN: "yes" }],
    ["a CORS origin with a path", { ...SECRETS, CORS_ORIGINS: "https://a.example/app" }],
    ["a CORS origin with a trailing slash", { ...SECRETS, CORS_ORIGINS: "https://a.example/" }],
    ["a CORS origin of null", { ...SECRETS, CORS_ORIGINS: "null" }],
    ["a CORS wildcard inside a list", { ...SECRETS, CORS_ORIGINS: "https://a.example,*" }],
    ["an empty CORS_ORIGINS", { ...SECRETS, CORS_ORIGINS: " , " }],
    ["a missing MFA_ENCRYPTION_KEY", { TOKEN_KEY: KEY }],
    ["a 31-byte MFA_ENCRYPTION_KEY", { TOKEN_KEY: KEY, MFA_ENCRYPTION_KEY: "m".repeat(31) }],
    ["a WEBAUTHN_RP_ID that is a URL", { ...SECRETS, WEBAUTHN_RP_ID: "https://example.com" }],
    ["a WEBAUTHN_RP_ID that is an IP address", { ...SECRETS, WEBAUTHN_RP_ID: "127.0.0.1" }],
    ["a WEBAUTHN_ORIGINS entry with a path", { ...SECRETS, WEBAUTHN_ORIGINS: "https://a.example/login" }],
  ])("refuses %s", (_label, env) => {
    expect(() => readConfig(env)).toThrow(ConfigError);
  });

  it("allows a low BCRYPT_COST only when ENVIRONMENT is test", () => {
    expect(readConfig({ ...SECRETS, BCRYPT_COST: "4", ENVIRONMENT: "test" }).bcryptCost).toBe(4);
  });

  it("reads PUBLIC_URL once: the mail links' base and the cookie check's origin", () => {
    const config = readConfig({ ...SECRETS, PUBLIC_URL: "https://auth.example.com/base/" });
    expect(config.mail.publicUrl).toBe("https://auth.example.com/base");
    expect(config.publicOrigin).toBe("https://auth.example.com");
    const dev = readConfig({ ...SECRETS, ENVIRONMENT: "dev", PUBLIC_URL: "http://auth.example.com" });
    expect([dev.mail.publicUrl, dev.publicOrigin]).toEqual(["http://auth.example.com", "http://auth.example.com"]);
  });

  it.each([
    ["not a URL", "auth.example.com", 'PUBLIC_URL "auth.example.com" is not a URL like https://auth.example.com'],
    [
      "not http(s)",
      "ftp://auth.example.com",
      'PUBLIC_URL "ftp://auth.example.com" must be an https URL with no query, fragment or credentials',
    ],
    [
      "plain http outside dev and test",
      "http://auth.example.com",
      'PUBLIC_URL "http://auth.example.com" must be an https URL with no query, fragment or credentials',
    ],
  ])("refuses a PUBLIC_URL that is %s, with mail off too, as one problem", (_label, value, message) => {
    for (const env of [{ ...SECRETS }, { ...SECRETS, MAIL_TRANSPORT: "smtp", MAIL_FROM: "a@example.com" }]) {
      let error: unknown;
      try {
        readConfig({ ...env, SMTP_URL: "smtp://smtp.example.com", PUBLIC_URL: value });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([message]);
    }
  });
});

describe("a misconfigured deployment", () => {
  it.each([
    ["no TOKEN_KEY", { TOKEN_KEY: undefined as unknown as string }],
    ["a short TOKEN_KEY", { TOKEN_KEY: "short" }],
    ["no MFA_ENCRYPTION_KEY", { MFA_ENCRYPTION_KEY: undefined as unknown as string }],
    ["a short MFA_ENCRYPTION_KEY", { MFA_ENCRYPTION_KEY: "short" }],
    ["a bad TOKEN_TTL", { TOKEN_TTL: "forever" }],
    ["a REFRESH_REUSE_INTERVAL over 60 s", { REFRESH_REUSE_INTERVAL: "5m" }],
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
