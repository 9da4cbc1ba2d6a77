import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { auditRowsOf, call, errorOf, fromFreshAddress, newUser, postJson, promote } from "./helpers";
import { withMail } from "./mail";
import {
  authorizePath,
  browse,
  hiddenFields,
  ISSUER,
  insertClient,
  Jar,
  oauthSettings,
  oauthUser,
  RESOURCE,
  redirectParams,
  signInThrough,
  submit,
} from "./oauth-support";

// GET/POST /oauth/authorize: the request's checks, the login page, the authorization
// server's session, the consent page and the code, in workerd against real D1.

beforeEach(() => fromFreshAddress());

/** The code row of a redirect's `code`, straight from D1. */
async function codeRow(code: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(code));
  const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return env.DB.prepare(
    "select user_id, target, data, used_at from single_use_tokens where token_hash = ? and purpose = 'oauth_code'",
  )
    .bind(hash)
    .first<{ user_id: string; target: string; data: string; used_at: number | null }>();
}

async function isPage(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  expect(res.headers.get("location")).toBeNull();
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
  return res.text();
}

function expectRedirectError(res: Response, error: string, redirectUri: string) {
  expect(res.status).toBe(302);
  const location = res.headers.get("location") ?? "";
  expect(location.startsWith(redirectUri)).toBe(true);
  const params = redirectParams(res);
  expect(params.get("error")).toBe(error);
  expect(params.get("error_description")).toBeTruthy();
  expect(params.get("state")).toBe("st-123");
  expect(params.get("iss")).toBe(ISSUER);
  expect(params.get("code")).toBeNull();
}

describe("the request's checks", () => {
  it("is 404 while OAUTH_PROVIDER is off, on every route", async () => {
    const client = await insertClient();
    expect(await errorOf(await call(authorizePath(client)))).toMatchObject({ code: "not_found" });
    const post = await call("/oauth/authorize", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "csrf_token=x",
    });
    expect(post.status).toBe(404);
    expect((await call("/oauth/authorize/social?csrf_token=x")).status).toBe(404);
  });

  it("answers a 400 page, never a redirect, for an unknown client or a redirect URI it did not register", async () => {
    const client = await insertClient();
    const jar = new Jar();
    await isPage(await browse(jar, authorizePath({ ...client, clientId: "nobody" })), 400);
    await isPage(await browse(jar, authorizePath(client, { client_id: undefined })), 400);
    const mismatch = await browse(jar, authorizePath(client, { redirect_uri: "https://evil.example/callback" }));
    expect(await isPage(mismatch, 400)).toContain("not one it registered");
    const prefix = await browse(jar, authorizePath(client, { redirect_uri: `${client.redirectUri}/more` }));
    await isPage(prefix, 400);
    // OAuth 2.1: required even though the client registered exactly one.
    await isPage(await browse(jar, authorizePath(client, { redirect_uri: undefined })), 400);
    // Two of them: not known good either.
    await isPage(
      await browse(jar, authorizePath(client, { redirect_uri: [client.redirectUri, client.redirectUri] })),
      400,
    );
  });

  it("lets the pages' forms lead only to this origin and the client's redirect origin (or private-use scheme)", async () => {
    const web = await insertClient();
    const csp = (await browse(new Jar(), authorizePath(web))).headers.get("content-security-policy");
    expect(csp).toContain("form-action 'self' https://app.example.com;");
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    const native = await insertClient({ redirectUris: ["com.example.notes:/callback"] });
    const nativeCsp = (await browse(new Jar(), authorizePath(native))).headers.get("content-security-policy");
    expect(nativeCsp).toContain("form-action 'self' com.example.notes:;");
  });

  it("escapes the client's name on its pages", async () => {
    const client = await insertClient({ name: '<script>alert("x")</script>' });
    const page = await (await browse(new Jar(), authorizePath(client))).text();
    expect(page).not.toContain("<script>alert");
    expect(page).toContain("&lt;script&gt;alert");
  });

  it("redirects invalid_request with state and iss for a missing or plain PKCE challenge", async () => {
    const client = await insertClient();
    const jar = new Jar();
    const missing = await browse(
      jar,
      authorizePath(client, { code_challenge: undefined, code_challenge_method: undefined }),
    );
    expectRedirectError(missing, "invalid_request", client.redirectUri);
    expectRedirectError(
      await browse(jar, authorizePath(client, { code_challenge_method: "plain" })),
      "invalid_request",
      client.redirectUri,
    );
    expectRedirectError(
      await browse(jar, authorizePath(client, { code_challenge_method: undefined })),
      "invalid_request",
      client.redirectUri,
    );
    expectRedirectError(
      await browse(jar, authorizePath(client, { code_challenge: "short" })),
      "invalid_request",
      client.redirectUri,
    );
  });

  it("redirects unsupported_response_type, invalid_scope, invalid_target and invalid_request for the other parameters", async () => {
    const client = await insertClient({ scope: "openid email" });
    const jar = new Jar();
    const uri = client.redirectUri;
    expectRedirectError(
      await browse(jar, authorizePath(client, { response_type: "token" })),
      "unsupported_response_type",
      uri,
    );
    expectRedirectError(await browse(jar, authorizePath(client, { scope: "openid admin" })), "invalid_scope", uri);
    // Known to the provider, but not among the client's scopes.
    expectRedirectError(await browse(jar, authorizePath(client, { scope: "openid profile" })), "invalid_scope", uri);
    expectRedirectError(
      await browse(jar, authorizePath(client, { resource: "https://other.example/mcp" })),
      "invalid_target",
      uri,
    );
    // Exactly: a trailing slash is another resource.
    expectRedirectError(await browse(jar, authorizePath(client, { resource: `${RESOURCE}/` })), "invalid_target", uri);
    expectRedirectError(
      await browse(jar, authorizePath(client, { resource: [RESOURCE, RESOURCE] })),
      "invalid_target",
      uri,
    );
    expectRedirectError(await browse(jar, authorizePath(client, { prompt: "none login" })), "invalid_request", uri);
    expectRedirectError(await browse(jar, authorizePath(client, { prompt: "sometimes" })), "invalid_request", uri);
    expectRedirectError(await browse(jar, authorizePath(client, { max_age: "-1" })), "invalid_request", uri);
    expectRedirectError(
      await browse(jar, authorizePath(client, { state: ["st-123", "again"] })),
      "invalid_request",
      uri,
    );
  });

  it("counts a client ID metadata document's lookup before it fetches: past the limit a 429 page, no fetch", async () => {
    const client = await insertClient();
    // The IP's budget spent by ordinary requests (local windows follow wall-clock minutes).
    let spent = false;
    for (let i = 0; i < 601 && !spent; i++) spent = (await browse(new Jar(), authorizePath(client))).status !== 200;
    expect(spent).toBe(true);
    // Nothing listens there: a fetch would fail and answer 400; the limit answers first.
    const doc = {
      clientId: "https://127.0.0.1:1/client.json",
      redirectUri: "https://app.example.com/callback",
      name: "",
    };
    const res = await browse(new Jar(), authorizePath(doc));
    expect(await isPage(res, 429)).toContain("Too many");
    expect(res.headers.get("retry-after")).toBe("60");
  });

  it("answers a 400 page, not a 500, when a client ID metadata document cannot be reached", async () => {
    const doc = {
      clientId: "http://127.0.0.1:1/client.json",
      redirectUri: "https://app.example.com/callback",
      name: "",
    };
    expect(await isPage(await browse(new Jar(), authorizePath(doc)), 400)).toContain("not known");
  });

  it("refuses request objects (OIDC Core §6) and a response_mode other than query, by redirect", async () => {
    const client = await insertClient();
    const jar = new Jar();
    const uri = client.redirectUri;
    const jwt = "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.";
    expectRedirectError(await browse(jar, authorizePath(client, { request: jwt })), "request_not_supported", uri);
    expectRedirectError(
      await browse(jar, authorizePath(client, { request_uri: "https://app.example.com/r/1" })),
      "request_uri_not_supported",
      uri,
    );
    for (const mode of ["fragment", "form_post", "query.jwt"]) {
      expectRedirectError(await browse(jar, authorizePath(client, { response_mode: mode })), "invalid_request", uri);
    }
    expect(await isPage(await browse(jar, authorizePath(client, { response_mode: "query" })), 200)).toContain(
      'name="password"',
    );
  });

  it("treats a parameter sent without a value as omitted (RFC 6749 §3.1)", async () => {
    const client = await insertClient();
    const jar = new Jar();
    for (const name of ["max_age", "response_mode", "resource", "prompt", "nonce"]) {
      expect(await isPage(await browse(jar, authorizePath(client, { [name]: "" })), 200), name).toContain(
        'name="password"',
      );
    }
    const res = await browse(jar, authorizePath(client, { state: "", response_type: "token" }));
    expect(res.status).toBe(302);
    expect(redirectParams(res).has("state")).toBe(false);
    await isPage(await browse(jar, authorizePath(client, { client_id: "" })), 400);
  });

  it("redirects invalid_request for a missing response_type, request_not_supported for request objects", async () => {
    const client = await insertClient();
    const jar = new Jar();
    const uri = client.redirectUri;
    // RFC 6749 §4.1.2.1: a missing required parameter is invalid_request.
    expectRedirectError(await browse(jar, authorizePath(client, { response_type: undefined })), "invalid_request", uri);
    // OpenID Connect Core §6: a provider that does not read request objects says so.
    expectRedirectError(
      await browse(jar, authorizePath(client, { request: "e30.e30." })),
      "request_not_supported",
      uri,
    );
    expectRedirectError(
      await browse(jar, authorizePath(client, { request_uri: "https://app.example/r/1" })),
      "request_uri_not_supported",
      uri,
    );
  });

  it("redirects unauthorized_client for a client without the authorization_code grant", async () => {
    const client = await insertClient({ type: "confidential", grantTypes: ["client_credentials"] });
    const res = await browse(new Jar(), authorizePath(client));
    expectRedirectError(res, "unauthorized_client", client.redirectUri);
  });

  it("limits per IP the requests that would write (a page's request row or a code): past 300 a minute, temporarily_unavailable by redirect, nothing written", async () => {
    const client = await insertClient();
    const rows = async () =>
      (
        await env.DB.prepare("select count(*) as n from single_use_tokens where purpose = 'oauth_request'").first<{
          n: number;
        }>()
      )?.n ?? 0;
    // Local windows follow wall-clock minutes: up to 601 page views fill one window.
    let refused: Response | undefined;
    let before = 0;
    for (let i = 0; i < 601 && !refused; i++) {
      before = await rows();
      const res = await browse(new Jar(), authorizePath(client));
      if (res.status !== 200) refused = res;
    }
    expect(refused).toBeDefined();
    expectRedirectError(refused as Response, "temporarily_unavailable", client.redirectUri);
    expect(await rows()).toBe(before);
    // A request that is refused before any write is not counted and still answered.
    await isPage(await browse(new Jar(), authorizePath({ ...client, clientId: "nobody" })), 400);
  });

  it("answers HEAD with 405 and no page", async () => {
    const client = await insertClient();
    const res = await call(authorizePath(client), { method: "HEAD" }, await oauthSettings());
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, POST");
  });

  it("redirects login_required with state and iss for prompt=none without a session", async () => {
    const client = await insertClient();
    const res = await browse(new Jar(), authorizePath(client, { prompt: "none" }));
    expectRedirectError(res, "login_required", client.redirectUri);
  });

  it("matches a public client's loopback redirect URI on any port, and nobody else's", async () => {
    const native = await insertClient({ redirectUris: ["http://127.0.0.1:1234/callback"] });
    const page = await browse(new Jar(), authorizePath(native, { redirect_uri: "http://127.0.0.1:5555/callback" }));
    expect(await isPage(page, 200)).toContain('name="password"');
    const otherPath = await browse(new Jar(), authorizePath(native, { redirect_uri: "http://127.0.0.1:5555/other" }));
    await isPage(otherPath, 400);
    const otherHost = await browse(
      new Jar(),
      authorizePath(native, { redirect_uri: "http://localhost:1234/callback" }),
    );
    await isPage(otherHost, 400);
    const ipv6 = await insertClient({ redirectUris: ["http://[::1]/cb"] });
    await isPage(await browse(new Jar(), authorizePath(ipv6, { redirect_uri: "http://[::1]:61000/cb" })), 200);
    const confidential = await insertClient({ type: "confidential", redirectUris: ["http://127.0.0.1:1234/callback"] });
    await isPage(
      await browse(new Jar(), authorizePath(confidential, { redirect_uri: "http://127.0.0.1:5555/callback" })),
      400,
    );
  });
});

describe("the login page, the session and the consent page", () => {
  it("signs in, asks consent naming the client, and redirects with a code, state and iss", async () => {
    const user = await oauthUser();
    const client = await insertClient({ registration: "dynamic" });
    const jar = new Jar();
    const loginPage = await isPage(await browse(jar, authorizePath(client, { resource: RESOURCE, nonce: "n-1" })), 200);
    expect(loginPage).toMatch(/<form method="post"/);
    expect(loginPage).toContain('name="email"');
    expect(loginPage).toContain('name="password"');
    const consent = await submit(jar, {
      ...hiddenFields(loginPage),
      email: user.input.email,
      password: user.input.password,
    });
    const page = await isPage(consent, 200);
    expect(page).toContain("Notes &lt;b&gt;App&lt;/b&gt;");
    expect(page).toContain("app.example.com");
    expect(page).toContain("Not verified by");
    expect(page).toContain("See your email address");
    expect(page).toContain(RESOURCE);
    expect(page).toContain('<button type="submit" name="decision" value="allow">');
    expect(page).toContain('name="decision" value="deny"');
    const cookie = consent.headers.getSetCookie().find((line) => line.startsWith("__Secure-oauth_session="));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\/oauth/);

    const allowed = await submit(jar, { ...hiddenFields(page), decision: "allow" });
    expect(allowed.status).toBe(302);
    expect(allowed.headers.get("location")?.startsWith(`${client.redirectUri}?`)).toBe(true);
    const params = redirectParams(allowed);
    expect(params.get("state")).toBe("st-123");
    expect(params.get("iss")).toBe(ISSUER);
    const row = await codeRow(params.get("code") ?? "");
    expect(row?.user_id).toBe(user.id);
    expect(row?.target).toBe(client.clientId);
    const data = JSON.parse(row?.data ?? "{}");
    expect(data).toEqual({
      client_id: client.clientId,
      redirect_uri: client.redirectUri,
      code_challenge: expect.any(String),
      scope: "email openid",
      resource: RESOURCE,
      nonce: "n-1",
      auth_time: expect.any(Number),
      amr: ["pwd"],
    });
    expect(Math.abs(data.auth_time - Date.now() / 1000)).toBeLessThan(60);

    const session = await env.DB.prepare(
      "select kind, auth_time, amr from sessions where user_id = ? and kind = 'authorization_server'",
    )
      .bind(user.id)
      .first<{ kind: string; auth_time: number; amr: string }>();
    expect(session).toMatchObject({ kind: "authorization_server", amr: "pwd" });
    expect(session?.auth_time).toBeGreaterThan(0);
    const consentRow = await env.DB.prepare("select scope from oauth_consents where user_id = ? and client_id = ?")
      .bind(user.id, client.clientId)
      .first<{ scope: string }>();
    expect(consentRow?.scope).toBe("email openid");
    const events = (await auditRowsOf(user.id)).map((event) => [event.type, event.details]);
    expect(events).toContainEqual(["login_succeeded", JSON.stringify({ amr: "pwd" })]);
    expect(events).toContainEqual([
      "oauth_consent_given",
      JSON.stringify({ client_id: client.clientId, scope: "email openid" }),
    ]);
  });

  it("leaves nonce out of the code when the request had none, and state out of the redirect", async () => {
    const user = await oauthUser();
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    const res = await signInThrough(jar, authorizePath(client, { state: undefined }), user.input);
    expect(res.status).toBe(302);
    const params = redirectParams(res);
    expect(params.has("state")).toBe(false);
    expect(params.get("iss")).toBe(ISSUER);
    const data = JSON.parse((await codeRow(params.get("code") ?? ""))?.data ?? "{}");
    expect("nonce" in data).toBe(false);
    expect("resource" in data).toBe(false);
  });

  it("shows the page again with a message for a wrong password, never JSON", async () => {
    const user = await oauthUser();
    const client = await insertClient();
    const res = await signInThrough(new Jar(), authorizePath(client), {
      email: user.input.email,
      password: "wrong password!",
    });
    const page = await isPage(res, 401);
    expect(page).toContain("Wrong email or password");
    expect(page).toContain('name="password"');
  });

  it("remembers consent per resource too: allowing the scopes without a resource does not allow them for one", async () => {
    const user = await oauthUser();
    const client = await insertClient();
    const jar = new Jar();
    const consent = await signInThrough(jar, authorizePath(client), user.input);
    expect((await submit(jar, { ...hiddenFields(await consent.text()), decision: "allow" })).status).toBe(302);
    const forResource = await isPage(await browse(jar, authorizePath(client, { resource: RESOURCE })), 200);
    expect(forResource).toContain(RESOURCE);
    expect((await submit(jar, { ...hiddenFields(forResource), decision: "allow" })).status).toBe(302);
    // Both are remembered now.
    expect((await browse(jar, authorizePath(client, { resource: RESOURCE }))).status).toBe(302);
    expect((await browse(jar, authorizePath(client))).status).toBe(302);
  });

  it("remembers consent per scope set, asks again for a wider one or with prompt=consent", async () => {
    const user = await oauthUser();
    const client = await insertClient();
    const jar = new Jar();
    const consent = await signInThrough(jar, authorizePath(client), user.input);
    expect((await submit(jar, { ...hiddenFields(await consent.text()), decision: "allow" })).status).toBe(302);

    const again = await browse(jar, authorizePath(client));
    expect(again.status).toBe(302);
    expect(redirectParams(again).get("code")).toBeTruthy();
    // A narrower set is within what was granted.
    expect((await browse(jar, authorizePath(client, { scope: "openid" }))).status).toBe(302);
    expect(await isPage(await browse(jar, authorizePath(client, { prompt: "consent" })), 200)).toContain(
      'value="allow"',
    );
    const wider = await browse(jar, authorizePath(client, { scope: "openid email profile" }));
    const page = await isPage(wider, 200);
    expect(page).toContain("See your name");
    // prompt=none where consent would be needed.
    expectRedirectError(
      await browse(jar, authorizePath(client, { scope: "openid email profile", prompt: "none" })),
      "consent_required",
      client.redirectUri,
    );
    // Allowing the wider set widens the row.
    expect((await submit(jar, { ...hiddenFields(page), decision: "allow" })).status).toBe(302);
    const row = await env.DB.prepare("select scope from oauth_consents where user_id = ? and client_id = ?")
      .bind(user.id, client.clientId)
      .first<{ scope: string }>();
    expect(row?.scope).toBe("email openid profile");
  });

  it("refuses a consent page shown to one account once another signed in in the same browser", async () => {
    const first = await oauthUser();
    const second = await oauthUser();
    const client = await insertClient();
    const jar = new Jar();
    const consent = await signInThrough(jar, authorizePath(client), first.input);
    expect((await submit(jar, { ...hiddenFields(await consent.text()), decision: "allow" })).status).toBe(302);
    // A consent page for the first account (a wider scope)...
    const page = await (await browse(jar, authorizePath(client, { scope: "openid profile" }))).text();
    // ...then the second account signs in in another tab.
    const other = await signInThrough(jar, authorizePath(client, { prompt: "login" }), second.input);
    expect(other.status).toBe(200);
    await isPage(await submit(jar, { ...hiddenFields(page), decision: "allow" }), 403);
  });

  it("refuses a consent page shown right after one account's login once another signed in in the same browser", async () => {
    const first = await oauthUser();
    const second = await oauthUser();
    const client = await insertClient();
    const jar = new Jar();
    const page = await (await signInThrough(jar, authorizePath(client), first.input)).text();
    expect(page).toContain(first.input.email);
    // Another tab: the second account signs in.
    expect((await signInThrough(jar, authorizePath(client, { prompt: "login" }), second.input)).status).toBe(200);
    await isPage(await submit(jar, { ...hiddenFields(page), decision: "allow" }), 403);
    const consents = await env.DB.prepare("select count(*) as n from oauth_consents where client_id = ?")
      .bind(client.clientId)
      .first<{ n: number }>();
    expect(consents?.n).toBe(0);
  });

  it("redirects access_denied with state and iss on deny, and audits the refusal", async () => {
    const user = await oauthUser();
    const client = await insertClient();
    const jar = new Jar();
    const consent = await signInThrough(jar, authorizePath(client), user.input);
    const denied = await submit(jar, { ...hiddenFields(await consent.text()), decision: "deny" });
    expectRedirectError(denied, "access_denied", client.redirectUri);
    const types = (await auditRowsOf(user.id)).map((event) => event.type);
    expect(types).toContain("oauth_consent_refused");
    expect(types).not.toContain("oauth_consent_given");
  });

  it("skips consent for a first-party client", async () => {
    const user = await oauthUser();
    const client = await insertClient({ firstParty: true });
    const res = await signInThrough(new Jar(), authorizePath(client, { scope: "openid profile email" }), user.input);
    expect(res.status).toBe(302);
    expect(redirectParams(res).get("code")).toBeTruthy();
    // prompt=consent is honoured even for a first-party client (OpenID Connect Core §3.1.2.1).
    const jar = new Jar();
    await signInThrough(jar, authorizePath(client), user.input);
    expect(await isPage(await browse(jar, authorizePath(client, { prompt: "consent" })), 200)).toContain(
      'name="decision"',
    );
  });

  it("asks to sign in again with prompt=login or max_age=0 even with a session", async () => {
    const user = await oauthUser();
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    expect((await signInThrough(jar, authorizePath(client), user.input)).status).toBe(302);
    expect((await browse(jar, authorizePath(client))).status).toBe(302);
    await isPage(await browse(jar, authorizePath(client, { prompt: "login" })), 200);
    await isPage(await browse(jar, authorizePath(client, { max_age: "0" })), 200);
    expect((await browse(jar, authorizePath(client, { max_age: "3600" }))).status).toBe(302);
    // max_age=0 signs in again; the consent after that login goes through.
    const other = await insertClient();
    const consent = await signInThrough(jar, authorizePath(other, { max_age: "0" }), user.input);
    expect((await submit(jar, { ...hiddenFields(await consent.text()), decision: "allow" })).status).toBe(302);
    // A session young enough for max_age, consent asked: allowing goes through too.
    const third = await insertClient();
    const page = await (await browse(jar, authorizePath(third, { max_age: "3600" }))).text();
    expect((await submit(jar, { ...hiddenFields(page), decision: "allow" })).status).toBe(302);
    // Signing in again ends the earlier session.
    expect((await signInThrough(jar, authorizePath(client, { prompt: "login" }), user.input)).status).toBe(302);
    const live = await env.DB.prepare(
      "select count(*) as n from sessions where user_id = ? and kind = 'authorization_server' and revoked_at is null",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(live?.n).toBe(1);
  });

  it("does not accept the session cookie's value as a refresh token", async () => {
    const user = await oauthUser();
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    await signInThrough(jar, authorizePath(client), user.input);
    const value = jar.cookies.get("__Secure-oauth_session") ?? "";
    expect(value).not.toBe("");
    const res = await postJson("/token/refresh", { refresh_token: value }, {}, await oauthSettings());
    expect(res.status).toBe(401);
  });
});

describe("CSRF on the forms", () => {
  async function atConsent() {
    const user = await oauthUser();
    const client = await insertClient();
    const jar = new Jar();
    const consent = await signInThrough(jar, authorizePath(client), user.input);
    return { user, client, jar, fields: hiddenFields(await consent.text()) };
  }

  async function noCode(userId: string) {
    const row = await env.DB.prepare(
      "select count(*) as n from single_use_tokens where user_id = ? and purpose = 'oauth_code'",
    )
      .bind(userId)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  }

  it("refuses a consent without its token, or with a wrong one, with a 403 page", async () => {
    const { user, jar, fields } = await atConsent();
    await isPage(await submit(jar, { decision: "allow" }), 403);
    await isPage(await submit(jar, { csrf_token: "A".repeat(43), decision: "allow" }), 403);
    await isPage(await submit(jar, { csrf_token: `${fields.csrf_token}x`, decision: "allow" }), 403);
    await noCode(user.id);
  });

  it("refuses a consent from another site (Origin or Sec-Fetch-Site) with a 403 page", async () => {
    const { user, jar, fields } = await atConsent();
    const body = { ...fields, decision: "allow" };
    await isPage(await submit(jar, body, { origin: "https://evil.example" }), 403);
    await isPage(await submit(jar, body, { "sec-fetch-site": "cross-site" }), 403);
    await isPage(await submit(jar, body, { origin: "null" }), 403);
    await noCode(user.id);
    // The same form from our page still works.
    expect((await submit(jar, body)).status).toBe(302);
  });

  it("refuses a token shown to another browser, and a token used once", async () => {
    const { user, jar, fields } = await atConsent();
    const other = new Jar();
    other.cookies.set("__Secure-oauth_session", jar.cookies.get("__Secure-oauth_session") ?? "");
    other.cookies.set("__Secure-oauth_browser", "another-browser");
    await isPage(await submit(other, { ...fields, decision: "allow" }), 403);
    await noCode(user.id);
    expect((await submit(jar, { ...fields, decision: "allow" })).status).toBe(302);
    await isPage(await submit(jar, { ...fields, decision: "allow" }), 403);
  });

  it("answers 415 for a body that is not a form, and 413 for one too large", async () => {
    const settings = await oauthSettings();
    const json = await call(
      "/oauth/authorize",
      { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
      settings,
    );
    expect((await errorOf(json)).code).toBe("unsupported_media_type");
    const big = await call(
      "/oauth/authorize",
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `csrf_token=${"a".repeat(20_000)}`,
      },
      settings,
    );
    expect((await errorOf(big)).code).toBe("payload_too_large");
  });
});

describe("the session ends with the account's sessions", () => {
  async function signedIn() {
    const user = await oauthUser();
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    expect((await signInThrough(jar, authorizePath(client), user.input)).status).toBe(302);
    expect((await browse(jar, authorizePath(client))).status).toBe(302);
    return { user, client, jar };
  }

  async function asksLogin(jar: Jar, client: Parameters<typeof authorizePath>[0]) {
    expect(await isPage(await browse(jar, authorizePath(client)), 200)).toContain('name="password"');
  }

  it("ends at POST /logout/all", async () => {
    const { user, client, jar } = await signedIn();
    const settings = await oauthSettings();
    const res = await call(
      "/logout/all",
      { method: "POST", headers: { authorization: `Bearer ${user.token}` } },
      settings,
    );
    expect(res.status).toBe(204);
    await asksLogin(jar, client);
  });

  it("ends at a password change", async () => {
    const { user, client, jar } = await signedIn();
    const settings = await oauthSettings();
    const body = { currentPassword: user.input.password, newPassword: "another good passphrase" };
    const res = await call(
      "/me/password",
      {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      },
      settings,
    );
    expect(res.status).toBe(200);
    await asksLogin(jar, client);
  });

  it("ends when an admin disables the account, which then cannot sign in here either", async () => {
    const { user, client, jar } = await signedIn();
    const admin = await oauthUser();
    await promote(admin.id);
    const settings = await oauthSettings();
    const res = await call(
      `/admin/users/${user.id}`,
      {
        method: "PATCH",
        headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
        body: JSON.stringify({ disabled: true }),
      },
      settings,
    );
    expect(res.status).toBe(200);
    await asksLogin(jar, client);
    const again = await signInThrough(jar, authorizePath(client), user.input);
    expect(await isPage(again, 401)).toContain("Wrong email or password");
  });

  it("ends when the account is deleted", async () => {
    const { user, client, jar } = await signedIn();
    const settings = await oauthSettings();
    const res = await call(
      "/me",
      {
        method: "DELETE",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body: JSON.stringify({ password: user.input.password }),
      },
      settings,
    );
    expect(res.status).toBe(204);
    await asksLogin(jar, client);
  });
});

describe("REQUIRE_EMAIL_VERIFICATION", () => {
  it("refuses an unverified address on the login page as POST /login does: a 403 page, no session", async () => {
    const client = await insertClient({ firstParty: true });
    const settings = { ...withMail, ...(await oauthSettings()), REQUIRE_EMAIL_VERIFICATION: "true" };
    const input = newUser();
    expect((await postJson("/register", input, {}, settings)).status).toBe(201);
    const jar = new Jar();
    const page = await call(authorizePath(client), { headers: jar.header() }, settings);
    jar.take(page);
    const fields = hiddenFields(await page.text());
    const res = await call(
      "/oauth/authorize",
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "sec-fetch-site": "same-origin",
          ...jar.header(),
        },
        body: new URLSearchParams({ ...fields, email: input.email, password: input.password }).toString(),
      },
      settings,
    );
    expect(await isPage(jar.take(res), 403)).toContain("Confirm your email address first");
    expect(jar.cookies.has("__Secure-oauth_session")).toBe(false);
  });
});

describe("the lockout is POST /login's", () => {
  it("counts failures here and at POST /login toward one lockout", async () => {
    const user = await oauthUser();
    const client = await insertClient();
    const settings = await oauthSettings();
    const wrong = { email: user.input.email, password: "not the password" };
    for (let i = 0; i < 3; i++) expect((await postJson("/login", wrong, {}, settings)).status).toBe(400);
    for (let i = 0; i < 2; i++) await isPage(await signInThrough(new Jar(), authorizePath(client), wrong), 401);
    // Locked now: the right password is refused here and at /login.
    const locked = await signInThrough(new Jar(), authorizePath(client), user.input);
    expect(await isPage(locked, 429)).toContain("Too many attempts");
    expect((await postJson("/login", user.input, {}, settings)).status).toBe(429);
    const types = (await auditRowsOf(user.id)).map((event) => event.type);
    expect(types.filter((type) => type === "login_failed")).toHaveLength(5);
    expect(types).toContain("account_locked");
  });
});
