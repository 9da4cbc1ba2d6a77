import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../src/platform/config";
import { bearer, call, errorOf, type Json, newUser, postJson, uniqueEmail } from "./helpers";

const APP = "https://app.example.com";
/** The deployment these tests model: the app's origin allowed with credentials. */
const SITE = { CORS_ORIGINS: `${APP},https://other.example.com`, CORS_CREDENTIALS: "true" };
const FROM_APP = { Origin: APP };
const THIRTY_DAYS = 30 * 24 * 3600;

/** A request body sent as JSON with `headers`, against the `SITE` deployment. */
function post(path: string, body: unknown, headers: Record<string, string> = {}, overrides: Json = {}) {
  return postJson(path, body, headers, { ...SITE, ...overrides } as Partial<Cloudflare.Env>);
}

/** The refresh cookie's value from a response, and its attributes as written. */
function setCookieOf(res: Response): { value: string; attributes: string[] } {
  const cookies = res.headers.getSetCookie();
  expect(cookies).toHaveLength(1);
  const [pair = "", ...attributes] = (cookies[0] ?? "").split("; ");
  expect(pair.startsWith("__Secure-refresh_token=")).toBe(true);
  return { value: pair.slice("__Secure-refresh_token=".length), attributes };
}

function cookie(value: string): Record<string, string> {
  return { Cookie: `__Secure-refresh_token=${value}` };
}

/** Logs a fresh user in with the cookie transport; returns the cookie and the body. */
async function cookieLogin(overrides: Json = {}) {
  const input = newUser();
  const registered = await post("/register", input, {}, overrides);
  expect(registered.status).toBe(201);
  const res = await post(
    "/login",
    { email: input.email, password: input.password, refresh_transport: "cookie" },
    {},
    overrides,
  );
  expect(res.status).toBe(200);
  const { value, attributes } = setCookieOf(res);
  const body = (await res.json()) as Json & { token: string };
  return { input, res, body, refreshToken: value, attributes, token: body.token };
}

function refreshWithCookie(refreshToken: string, headers: Record<string, string> = FROM_APP, body: unknown = {}) {
  return post("/token/refresh", body, { ...cookie(refreshToken), ...headers });
}

async function expectForbidden(res: Response) {
  expect(res.status).toBe(403);
  expect((await errorOf(res)).code).toBe("forbidden");
  expect(res.headers.getSetCookie()).toEqual([]);
}

describe("refresh_transport: cookie", () => {
  it("sets the refresh token as a __Secure-, HttpOnly, Lax cookie on /token and never in the body", async () => {
    const { res, body, refreshToken, attributes } = await cookieLogin();
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(attributes.sort()).toEqual(
      [`Max-Age=${THIRTY_DAYS}`, "Path=/token", "HttpOnly", "Secure", "SameSite=Lax"].sort(),
    );
    expect(Object.keys(body)).toEqual(["id", "first_name", "last_name", "email", "token", "expires_in", "created_at"]);
    expect(JSON.stringify(body)).not.toContain(refreshToken);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("adds Domain and Partitioned only when configured, and follows COOKIE_SAMESITE and REFRESH_TTL", async () => {
    const { attributes } = await cookieLogin({
      COOKIE_DOMAIN: "example.com",
      COOKIE_PARTITIONED: "true",
      COOKIE_SAMESITE: "None",
      REFRESH_TTL: "7d",
    });
    expect(attributes.sort()).toEqual(
      [
        `Max-Age=${7 * 24 * 3600}`,
        "Domain=example.com",
        "Path=/token",
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Partitioned",
      ].sort(),
    );
  });

  it("works on register too, and body stays the default with no cookie at all", async () => {
    const res = await post("/register", { ...newUser(), refresh_transport: "cookie" });
    expect(res.status).toBe(201);
    const { value } = setCookieOf(res);
    expect(await res.text()).not.toContain(value);
    const plain = await post("/register", newUser());
    expect(plain.headers.getSetCookie()).toEqual([]);
    expect(((await plain.json()) as Json).refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses an unknown refresh_transport with 400 and creates nothing", async () => {
    const input = newUser();
    const res = await post("/register", { ...input, refresh_transport: "header" });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "invalid_input",
      message: 'refresh_transport must be "cookie" or "body"',
    });
    expect((await post("/login", { email: input.email, password: input.password })).status).toBe(400);
  });

  it("sets a new cookie on password change in cookie mode", async () => {
    const { input, token } = await cookieLogin();
    const res = await call("/me/password", {
      method: "POST",
      headers: { ...bearer(token), "content-type": "application/json" },
      body: JSON.stringify({
        currentPassword: input.password,
        newPassword: "a new long passphrase",
        refresh_transport: "cookie",
      }),
    });
    expect(res.status).toBe(200);
    const { value } = setCookieOf(res);
    const body = (await res.json()) as Json;
    expect(Object.keys(body).sort()).toEqual(["expires_in", "token"]);
    expect((await refreshWithCookie(value)).status).toBe(200);
  });
});

describe("POST /token/refresh with the cookie", () => {
  it("rotates the cookie: a new one is set, the body has only the access token, the old one is spent", async () => {
    const { refreshToken } = await cookieLogin();
    const res = await refreshWithCookie(refreshToken);
    expect(res.status).toBe(200);
    const next = setCookieOf(res);
    expect(next.value).not.toBe(refreshToken);
    expect(next.attributes).toContain("HttpOnly");
    const body = (await res.json()) as Json;
    expect(Object.keys(body).sort()).toEqual(["expires_in", "token"]);
    expect((await call("/me", { headers: bearer(String(body.token)) }, SITE as Partial<Cloudflare.Env>)).status).toBe(
      200,
    );
    expect((await refreshWithCookie(next.value)).status).toBe(200);
  });

  it("treats a rotated cookie presented again as reuse: 401, and the whole session is revoked", async () => {
    const { refreshToken } = await cookieLogin();
    const first = await refreshWithCookie(refreshToken);
    const current = setCookieOf(first).value;
    // After REFRESH_REUSE_INTERVAL (set to 0 here), a replay is theft.
    const replay = await post(
      "/token/refresh",
      {},
      { ...cookie(refreshToken), ...FROM_APP },
      { REFRESH_REUSE_INTERVAL: "0" },
    );
    expect(replay.status).toBe(401);
    expect((await errorOf(replay)).code).toBe("invalid_token");
    expect((await refreshWithCookie(current)).status).toBe(401);
  });

  it("keeps a cookie token in the cookie even when the body asks for body", async () => {
    const { refreshToken } = await cookieLogin();
    const res = await refreshWithCookie(refreshToken, FROM_APP, { refresh_transport: "body" });
    expect(res.status).toBe(200);
    const { value } = setCookieOf(res);
    expect(await res.text()).not.toContain(value);
  });

  it("prefers a refresh_token in the body (no CSRF check: the cookie is not used)", async () => {
    const input = newUser();
    const registered = (await (await post("/register", input)).json()) as Json;
    const { refreshToken } = await cookieLogin();
    const res = await post("/token/refresh", { refresh_token: registered.refresh_token }, cookie(refreshToken));
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(((await res.json()) as Json).refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await refreshWithCookie(refreshToken)).status).toBe(200);
  });

  it("accepts Sec-Fetch-Site: same-origin and PUBLIC_URL's origin without a CORS_ORIGINS entry", async () => {
    const { refreshToken } = await cookieLogin();
    const sameOrigin = await refreshWithCookie(refreshToken, { "Sec-Fetch-Site": "same-origin" });
    expect(sameOrigin.status).toBe(200);
    const next = setCookieOf(sameOrigin).value;
    const res = await postJson(
      "/token/refresh",
      {},
      { ...cookie(next), Origin: "https://auth.example.net" },
      { PUBLIC_URL: "https://auth.example.net/app/" },
    );
    expect(res.status).toBe(200);
  });

  it.each([
    ["no Origin", {}, "application/json"],
    ["a foreign Origin", { Origin: "https://evil.example" }, "application/json"],
    ["Origin: null", { Origin: "null" }, "application/json"],
    ["Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site" }, "application/json"],
    ["Sec-Fetch-Site: same-site", { "Sec-Fetch-Site": "same-site" }, "application/json"],
    ["a text/plain body", FROM_APP, "text/plain"],
    ["a form body", FROM_APP, "application/x-www-form-urlencoded"],
    ["an application/*+json body", FROM_APP, "application/merge-patch+json"],
  ])("refuses %s with 403 forbidden and rotates nothing", async (_label, headers, type) => {
    const { refreshToken } = await cookieLogin();
    await expectForbidden(
      await call(
        "/token/refresh",
        { method: "POST", headers: { ...cookie(refreshToken), ...headers, "content-type": type }, body: "{}" },
        SITE as Partial<Cloudflare.Env>,
      ),
    );
    // The cookie is still the live one.
    expect((await refreshWithCookie(refreshToken)).status).toBe(200);
  });

  it("refuses a cookie refresh with no body and no content type", async () => {
    const { refreshToken } = await cookieLogin();
    await expectForbidden(
      await call(
        "/token/refresh",
        { method: "POST", headers: { ...cookie(refreshToken), ...FROM_APP } },
        SITE as Partial<Cloudflare.Env>,
      ),
    );
  });

  it("with CORS_ORIGINS=* accepts no Origin at all for the cookie", async () => {
    const { refreshToken } = await cookieLogin();
    const res = await postJson("/token/refresh", {}, { ...cookie(refreshToken), ...FROM_APP });
    await expectForbidden(res);
  });

  it("answers 401 when cookie mode is asked for and there is no cookie, 400 as before otherwise", async () => {
    const missing = await post("/token/refresh", { refresh_transport: "cookie" }, FROM_APP);
    expect(missing.status).toBe(401);
    expect((await errorOf(missing)).code).toBe("invalid_token");
    const empty = await post("/token/refresh", {}, FROM_APP);
    expect(await errorOf(empty)).toEqual({ code: "invalid_input", message: "All input is required" });
    const garbage = await refreshWithCookie("not-a-token");
    expect(garbage.status).toBe(401);
  });
});

describe("ending a session clears the cookie", () => {
  const CLEARED = ["Max-Age=0", "Path=/token", "HttpOnly", "Secure", "SameSite=Lax"].sort();

  it.each(["/logout", "/logout/all"])("%s revokes the session and answers Max-Age=0 on Path=/token", async (path) => {
    const { token, refreshToken } = await cookieLogin();
    const res = await call(path, { method: "POST", headers: bearer(token) }, SITE as Partial<Cloudflare.Env>);
    expect(res.status).toBe(204);
    const { value, attributes } = setCookieOf(res);
    expect(value).toBe("");
    expect(attributes.filter((a) => !a.startsWith("Expires=")).sort()).toEqual(CLEARED);
    expect((await refreshWithCookie(refreshToken)).status).toBe(401);
  });

  it("DELETE /me clears it too", async () => {
    const { input, token, refreshToken } = await cookieLogin();
    const res = await call(
      "/me",
      {
        method: "DELETE",
        headers: { ...bearer(token), "content-type": "application/json" },
        body: JSON.stringify({ password: input.password }),
      },
      SITE as Partial<Cloudflare.Env>,
    );
    expect(res.status).toBe(204);
    expect(setCookieOf(res).value).toBe("");
    expect((await refreshWithCookie(refreshToken)).status).toBe(401);
  });
});

describe("cookie settings", () => {
  const KEY = "k".repeat(32);

  it.each([
    ["COOKIE_SAMESITE=None without CORS_CREDENTIALS", { COOKIE_SAMESITE: "None", CORS_ORIGINS: APP }],
    ["COOKIE_SAMESITE=None with CORS_ORIGINS=*", { COOKIE_SAMESITE: "None" }],
    ["an unknown COOKIE_SAMESITE", { COOKIE_SAMESITE: "lax" }],
    ["a COOKIE_DOMAIN with a scheme", { COOKIE_DOMAIN: "https://example.com" }],
    ["a COOKIE_DOMAIN with a leading dot", { COOKIE_DOMAIN: ".example.com" }],
    ["a COOKIE_DOMAIN with a port", { COOKIE_DOMAIN: "example.com:443" }],
    ["a COOKIE_PARTITIONED that is not a boolean", { COOKIE_PARTITIONED: "yes" }],
    ["a PUBLIC_URL that is not a URL", { PUBLIC_URL: "auth.example.com" }],
    ["a PUBLIC_URL that is not http(s)", { PUBLIC_URL: "ftp://auth.example.com" }],
  ])("refuses %s", (_label, settings) => {
    expect(() => readConfig({ TOKEN_KEY: KEY, ...settings })).toThrow(ConfigError);
  });

  it("fails every request closed on a refused cookie setting", async () => {
    const res = await postJson("/login", { email: uniqueEmail(), password: "x" }, {}, { COOKIE_SAMESITE: "None" });
    expect(res.status).toBe(500);
    expect((await errorOf(res)).code).toBe("server_misconfigured");
  });

  it("accepts SameSite=None with credentials and an allowlist, and PUBLIC_URL as its origin", () => {
    const config = readConfig({
      TOKEN_KEY: KEY,
      MFA_ENCRYPTION_KEY: KEY,
      COOKIE_SAMESITE: "None",
      CORS_ORIGINS: APP,
      CORS_CREDENTIALS: "true",
      COOKIE_DOMAIN: "Example.COM",
      COOKIE_PARTITIONED: "true",
      PUBLIC_URL: "https://auth.example.com/base/",
    });
    expect(config.cookie).toEqual({ sameSite: "None", domain: "example.com", partitioned: true });
    expect(config.publicOrigin).toBe("https://auth.example.com");
  });

  it("keeps the test bindings pinned", () => {
    expect(env.COOKIE_SAMESITE).toBe("Lax");
  });
});
