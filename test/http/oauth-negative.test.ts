import { createHash, randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { type Account, admin, adminClient, type RegisteredClient, registered } from "../support/oauth-accounts";
import { OAuthBrowser, type Page } from "../support/oauth-browser";

// The provider's negative matrix, black-box over HTTP against `oauth` (a `npm run dev` with
// OAUTH_PROVIDER=true, codes that live 10 s, no refresh reuse interval): one test per case of
// issue 25's "Proof", each refused with the RFC's error, in the RFC's shape
// ({error, error_description}), and with `iss` on every authorization response.
const { oauth, oauthDir, oauthResources } = inject("servers");
const [mcpResource = "", apiResource = ""] = oauthResources;

let ada: Account;
let browser: OAuthBrowser;
let alpha: RegisteredClient;
let beta: RegisteredClient;
let confidential: RegisteredClient;

beforeAll(async () => {
  const root = await admin(oauth, oauthDir);
  ada = await registered(oauth, "ada");
  browser = new OAuthBrowser(oauth);
  const grants = ["authorization_code", "refresh_token"];
  alpha = await adminClient(oauth, root.token, { type: "public", name: "Alpha", grant_types: grants });
  beta = await adminClient(oauth, root.token, { type: "public", name: "Beta", grant_types: grants });
  confidential = await adminClient(oauth, root.token, { type: "confidential", name: "Gamma", grant_types: grants });
}, 60_000);

const b64url = (bytes: Buffer) => bytes.toString("base64url");

function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash("sha256").update(verifier).digest()) };
}

/** GET /oauth/authorize's URL for `client` (code, S256, state, `openid offline_access` with
 * prompt=consent) with `change` applied: a value replaces, `null` removes. */
function authorizeUrl(client: RegisteredClient, challenge: string, change: Record<string, string | null> = {}) {
  const url = new URL(`${oauth}/oauth/authorize`);
  const params: Record<string, string | null> = {
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: client.redirect_uri,
    scope: "openid offline_access",
    prompt: "consent",
    state: b64url(randomBytes(12)),
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...change,
  };
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  return url;
}

/** A code for `client`, signed in and consented as ada. */
async function codeFor(client: RegisteredClient, change: Record<string, string | null> = {}) {
  const { verifier, challenge } = pkce();
  const url = authorizeUrl(client, challenge, change);
  const back = await browser.authorize(url, ada);
  expect(back.searchParams.get("iss")).toBe(oauth);
  expect(back.searchParams.get("state")).toBe(url.searchParams.get("state"));
  const code = back.searchParams.get("code");
  if (!code) throw new Error(`no code: ${back.href}`);
  return { code, verifier };
}

type TokenAnswer = { status: number; body: Record<string, unknown>; res: Response };

async function post(path: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${oauth}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(params),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, res };
}

const token = (params: Record<string, string>, headers: Record<string, string> = {}) =>
  post("/oauth/token", params, headers);

/** The code exchanged by `client` (public: client_id in the body). */
function exchange(client: RegisteredClient, code: string, verifier: string, extra: Record<string, string> = {}) {
  return token({
    grant_type: "authorization_code",
    code,
    code_verifier: verifier,
    redirect_uri: client.redirect_uri,
    client_id: client.client_id,
    ...extra,
  });
}

function refresh(client: RegisteredClient, refreshToken: string, extra: Record<string, string> = {}) {
  return token({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.client_id, ...extra });
}

/** An RFC 6749 §5.2 error: the status, exactly `{error, error_description}`, no-store. */
function expectOAuthError(answer: TokenAnswer, status: number, error: string) {
  expect([answer.status, answer.body.error], JSON.stringify(answer.body)).toEqual([status, error]);
  expect(Object.keys(answer.body).sort()).toEqual(["error", "error_description"]);
  expect(typeof answer.body.error_description).toBe("string");
}

/** The authorization server's redirect back with an error: `error`, `state` and `iss`. */
async function expectErrorRedirect(url: URL, error: string, person?: Account) {
  const back = await browser.authorize(url, person);
  expect(back.origin + back.pathname).toBe(url.searchParams.get("redirect_uri"));
  expect(back.searchParams.get("error")).toBe(error);
  expect(back.searchParams.get("state")).toBe(url.searchParams.get("state"));
  expect(back.searchParams.get("iss")).toBe(oauth);
  expect(back.searchParams.has("code")).toBe(false);
}

describe("authorization requests the provider refuses", () => {
  it("a redirect_uri that is not registered: a 400 page, never a redirect", async () => {
    const url = authorizeUrl(alpha, pkce().challenge, { redirect_uri: "https://evil.example/cb" });
    const res = await new OAuthBrowser(oauth).request(url);
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).not.toContain("evil.example");
  });

  it("no PKCE: invalid_request by redirect", async () => {
    await expectErrorRedirect(
      authorizeUrl(alpha, "", { code_challenge: null, code_challenge_method: null }),
      "invalid_request",
    );
  });

  it("PKCE plain: invalid_request by redirect", async () => {
    const { verifier } = pkce();
    await expectErrorRedirect(authorizeUrl(alpha, verifier, { code_challenge_method: "plain" }), "invalid_request");
  });

  it("a resource not in OAUTH_RESOURCES: invalid_target by redirect", async () => {
    await expectErrorRedirect(
      authorizeUrl(alpha, pkce().challenge, { resource: "https://evil.example/mcp" }),
      "invalid_target",
    );
    // A trailing slash counts: the comparison is exact.
    await expectErrorRedirect(authorizeUrl(alpha, pkce().challenge, { resource: `${mcpResource}/` }), "invalid_target");
  });

  it("an unknown scope or response_type: invalid_scope / unsupported_response_type by redirect, with iss", async () => {
    await expectErrorRedirect(
      authorizeUrl(alpha, pkce().challenge, { scope: "openid payroll:write" }),
      "invalid_scope",
    );
    await expectErrorRedirect(
      authorizeUrl(alpha, pkce().challenge, { response_type: "token" }),
      "unsupported_response_type",
    );
  });

  it("POST /logout/all ends the authorization server's session too: prompt=none is login_required again", async () => {
    const grace = await registered(oauth, "grace");
    const graceBrowser = new OAuthBrowser(oauth);
    const { challenge } = pkce();
    await graceBrowser.authorize(authorizeUrl(alpha, challenge, { scope: "openid" }), grace);
    const silent = await graceBrowser.authorize(authorizeUrl(alpha, challenge, { scope: "openid", prompt: "none" }));
    expect(silent.searchParams.has("code")).toBe(true);
    const out = await fetch(`${oauth}/logout/all`, {
      method: "POST",
      headers: { authorization: `Bearer ${grace.token}` },
    });
    expect(out.status).toBeLessThan(300);
    const after = await graceBrowser.authorize(authorizeUrl(alpha, challenge, { scope: "openid", prompt: "none" }));
    expect(after.searchParams.get("error")).toBe("login_required");
  });

  it("prompt=none without a session: login_required by redirect", async () => {
    const url = authorizeUrl(alpha, pkce().challenge, { prompt: "none", scope: "openid" });
    const fresh = new OAuthBrowser(oauth);
    const back = await fresh.authorize(url);
    expect(back.searchParams.get("error")).toBe("login_required");
    expect(back.searchParams.get("state")).toBe(url.searchParams.get("state"));
    expect(back.searchParams.get("iss")).toBe(oauth);
  });

  it("the consent form without its CSRF token, or from another origin: refused, no code", async () => {
    const fresh = new OAuthBrowser(oauth);
    const url = authorizeUrl(alpha, pkce().challenge);
    let step = await fresh.navigate(url);
    // Sign in, stop at the consent page.
    let consent: Page | undefined;
    for (let i = 0; i < 4 && !consent; i++) {
      if ("left" in step) throw new Error(`left before consent: ${step.left.href}`);
      const page = step.page;
      const login = page.forms.find((f) => "password" in f.inputs);
      if (login) step = await fresh.submit(page, login, { email: ada.email, password: ada.password });
      else consent = page;
    }
    if (!consent) throw new Error("no consent page");
    const form = consent.forms.find((f) => f.buttons.some((b) => b.name === "decision"));
    if (!form) throw new Error("no consent form");
    const hidden = Object.keys(form.inputs);
    expect(hidden.length).toBeGreaterThan(0);

    // Every hidden input dropped in turn that looks like the CSRF token; at least one is it.
    const withoutToken = Object.fromEntries(Object.entries(form.inputs).filter(([name]) => !/csrf|token/i.test(name)));
    expect(Object.keys(withoutToken).length).toBeLessThan(hidden.length);
    const noToken = await fresh.request(form.action, {
      method: "POST",
      form: { ...withoutToken, decision: "allow" },
      from: consent.url,
    });
    expect(noToken.status).toBeGreaterThanOrEqual(400);
    expect(noToken.status).toBeLessThan(500);
    expect(noToken.headers.get("location") ?? "").not.toContain("code=");

    const crossSite = await fresh.request(form.action, {
      method: "POST",
      form: { ...form.inputs, decision: "allow" },
      from: new URL("https://evil.example/"),
    });
    expect(crossSite.status).toBeGreaterThanOrEqual(400);
    expect(crossSite.status).toBeLessThan(500);
    expect(crossSite.headers.get("location") ?? "").not.toContain("code=");
  });
});

describe("token requests the provider refuses", () => {
  it("a wrong code_verifier: invalid_grant", async () => {
    const { code } = await codeFor(alpha);
    expectOAuthError(await exchange(alpha, code, pkce().verifier), 400, "invalid_grant");
  });

  it("a code used twice: invalid_grant, and the tokens of its first use stop working", async () => {
    const { code, verifier } = await codeFor(alpha);
    const first = await exchange(alpha, code, verifier);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.res.headers.get("cache-control")).toContain("no-store");
    expectOAuthError(await exchange(alpha, code, verifier), 400, "invalid_grant");
    expectOAuthError(await refresh(alpha, String(first.body.refresh_token)), 400, "invalid_grant");
  });

  it("an expired code (OAUTH_CODE_TTL=10s): invalid_grant", async () => {
    const { code, verifier } = await codeFor(alpha);
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expectOAuthError(await exchange(alpha, code, verifier), 400, "invalid_grant");
  }, 40_000);

  it("a code issued to another client: invalid_grant", async () => {
    const { code, verifier } = await codeFor(alpha);
    expectOAuthError(await exchange(beta, code, verifier, { redirect_uri: alpha.redirect_uri }), 400, "invalid_grant");
  });

  it("a resource at the token endpoint that is not allowed: invalid_target", async () => {
    const { code, verifier } = await codeFor(alpha, { resource: mcpResource });
    expectOAuthError(
      await exchange(alpha, code, verifier, { resource: "https://evil.example/mcp" }),
      400,
      "invalid_target",
    );
  });

  it("a resource at the token endpoint other than the authorization's: refused", async () => {
    const { code, verifier } = await codeFor(alpha, { resource: mcpResource });
    const answer = await exchange(alpha, code, verifier, { resource: apiResource });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe("invalid_target");
    expect(Object.keys(answer.body).sort()).toEqual(["error", "error_description"]);
  });

  it("a wider scope on refresh: invalid_scope (a narrower one is fine)", async () => {
    const { code, verifier } = await codeFor(alpha, { scope: "openid offline_access" });
    const first = await exchange(alpha, code, verifier);
    expect(first.status).toBe(200);
    expectOAuthError(
      await refresh(alpha, String(first.body.refresh_token), { scope: "openid email offline_access" }),
      400,
      "invalid_scope",
    );
    const narrower = await refresh(alpha, String(first.body.refresh_token), { scope: "openid" });
    expect(narrower.status, JSON.stringify(narrower.body)).toBe(200);
    expect(String(narrower.body.scope).split(" ")).toEqual(["openid"]);
  });

  it("a refresh token used twice: invalid_grant, and the grant's newer token is revoked too", async () => {
    const { code, verifier } = await codeFor(alpha);
    const first = await exchange(alpha, code, verifier);
    const second = await refresh(alpha, String(first.body.refresh_token));
    expect(second.status).toBe(200);
    expectOAuthError(await refresh(alpha, String(first.body.refresh_token)), 400, "invalid_grant");
    expectOAuthError(await refresh(alpha, String(second.body.refresh_token)), 400, "invalid_grant");
  });

  it("a refresh token presented by another client: invalid_grant", async () => {
    const { code, verifier } = await codeFor(alpha);
    const first = await exchange(alpha, code, verifier);
    expectOAuthError(await refresh(beta, String(first.body.refresh_token)), 400, "invalid_grant");
  });

  it("a public client sending a secret: invalid_client", async () => {
    const { code, verifier } = await codeFor(alpha);
    const answer = await exchange(alpha, code, verifier, { client_secret: "not-a-secret-of-a-public-client" });
    expectOAuthError(answer, 401, "invalid_client");
  });

  it("a confidential client with a wrong Basic secret: 401 invalid_client with WWW-Authenticate", async () => {
    const basic = Buffer.from(`${encodeURIComponent(confidential.client_id)}:wrong`).toString("base64");
    const answer = await token(
      { grant_type: "refresh_token", refresh_token: "x" },
      { authorization: `Basic ${basic}` },
    );
    expectOAuthError(answer, 401, "invalid_client");
    expect(answer.res.headers.get("www-authenticate")).toMatch(/^Basic/i);
  });
});

describe("no confusion between the API's tokens and OAuth tokens", () => {
  it("the API's own access token at /oauth/userinfo: 401 invalid_token", async () => {
    const res = await fetch(`${oauth}/oauth/userinfo`, { headers: { authorization: `Bearer ${ada.token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("an OAuth access token at /me: 401", async () => {
    const { code, verifier } = await codeFor(alpha, { scope: "openid" });
    const { body } = await exchange(alpha, code, verifier);
    const accessToken = String(body.access_token);
    // It works where it belongs...
    expect(
      (await fetch(`${oauth}/oauth/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })).status,
    ).toBe(200);
    // ...and nowhere in the API's own routes.
    for (const path of ["/me", "/welcome", "/sessions"]) {
      const res = await fetch(`${oauth}${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect([path, res.status]).toEqual([path, 401]);
    }
  });
});

describe("what every answer carries", () => {
  it("no nonce claim in an id_token when the request had no nonce", async () => {
    const { code, verifier } = await codeFor(alpha, { scope: "openid" });
    const { body } = await exchange(alpha, code, verifier);
    const claims = decodeJwt(String(body.id_token));
    expect(claims).not.toHaveProperty("nonce");
    expect(claims).toMatchObject({ iss: oauth, aud: alpha.client_id, sub: ada.id });
  });

  it("every /oauth/* error body is exactly {error, error_description}", async () => {
    const answers: [string, TokenAnswer][] = [
      [
        "token: unsupported grant",
        await token({ grant_type: "password", username: "a", password: "b", client_id: alpha.client_id }),
      ],
      ["token: no grant_type", await token({})],
      [
        "token: unknown code",
        await token({ grant_type: "authorization_code", code: "nope", client_id: alpha.client_id }),
      ],
      ["token: unknown client", await token({ grant_type: "refresh_token", refresh_token: "x", client_id: "nobody" })],
      ["revoke: no client", await post("/oauth/revoke", { token: "x" })],
      [
        "userinfo: a bad token",
        await (async () => {
          const res = await fetch(`${oauth}/oauth/userinfo`, { headers: { authorization: "Bearer not.a.token" } });
          return { status: res.status, body: (await res.json()) as Record<string, unknown>, res };
        })(),
      ],
      ["introspect: no client", await post("/oauth/introspect", { token: "x" })],
      [
        "register: bad redirect",
        await (async () => {
          const res = await fetch(`${oauth}/oauth/register`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ redirect_uris: ["http://evil.example/cb"], token_endpoint_auth_method: "none" }),
          });
          return { status: res.status, body: (await res.json()) as Record<string, unknown>, res };
        })(),
      ],
    ];
    for (const [what, answer] of answers) {
      expect([what, answer.status >= 400 && answer.status < 500]).toEqual([what, true]);
      expect([what, Object.keys(answer.body).sort()]).toEqual([what, ["error", "error_description"]]);
      expect([what, typeof answer.body.error]).toEqual([what, "string"]);
    }
    expect(answers.find(([what]) => what.startsWith("register"))?.[1].body.error).toBe("invalid_redirect_uri");
    expect(answers.find(([what]) => what === "token: unsupported grant")?.[1].body.error).toBe(
      "unsupported_grant_type",
    );
  });
});

describe("what ends a grant, seen from outside", () => {
  const userinfo = (accessToken: string) =>
    fetch(`${oauth}/oauth/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });

  it("a code used twice: the access token of its first use stops working at userinfo too", async () => {
    const { code, verifier } = await codeFor(alpha, { scope: "openid" });
    const first = await exchange(alpha, code, verifier);
    expect((await userinfo(String(first.body.access_token))).status).toBe(200);
    await exchange(alpha, code, verifier);
    expect((await userinfo(String(first.body.access_token))).status).toBe(401);
  });

  it("revoking the refresh token (RFC 7009): 200, and the grant's access token is refused at userinfo", async () => {
    const { code, verifier } = await codeFor(alpha);
    const first = await exchange(alpha, code, verifier);
    const revoked = await post("/oauth/revoke", {
      token: String(first.body.refresh_token),
      client_id: alpha.client_id,
    });
    expect(revoked.status).toBe(200);
    expect((await userinfo(String(first.body.access_token))).status).toBe(401);
    // Unknown tokens are 200 too (RFC 7009 §2.2).
    expect((await post("/oauth/revoke", { token: "unknown", client_id: alpha.client_id })).status).toBe(200);
  });

  it("introspection (confidential clients only): active with the token's claims, inactive once revoked", async () => {
    const { code, verifier } = await codeFor(alpha, { resource: mcpResource, scope: "openid" });
    const { body } = await exchange(alpha, code, verifier, { resource: mcpResource });
    const basic = `Basic ${Buffer.from(`${confidential.client_id}:${confidential.client_secret}`).toString("base64")}`;
    const active = await post("/oauth/introspect", { token: String(body.access_token) }, { authorization: basic });
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({ active: true, sub: ada.id, client_id: alpha.client_id, aud: mcpResource });
    // A public client may not introspect.
    const refused = await post("/oauth/introspect", { token: String(body.access_token), client_id: alpha.client_id });
    expect(refused.status).toBe(401);
    await post("/oauth/revoke", { token: String(body.refresh_token), client_id: alpha.client_id });
    const after = await post("/oauth/introspect", { token: String(body.access_token) }, { authorization: basic });
    expect(after.body).toEqual({ active: false });
  });

  it("DELETE /me/oauth/grants/:client_id ends its tokens; GET lists the grant before", async () => {
    const { code, verifier } = await codeFor(beta);
    const first = await exchange(beta, code, verifier);
    const me = { authorization: `Bearer ${ada.token}` };
    const list = (await (await fetch(`${oauth}/me/oauth/grants`, { headers: me })).json()) as {
      grants: { client_id: string }[];
    };
    expect(list.grants.map((grant) => grant.client_id)).toContain(beta.client_id);
    const ended = await fetch(`${oauth}/me/oauth/grants/${encodeURIComponent(beta.client_id)}`, {
      method: "DELETE",
      headers: me,
    });
    expect(ended.status).toBe(204);
    expectOAuthError(await refresh(beta, String(first.body.refresh_token)), 400, "invalid_grant");
    expect((await userinfo(String(first.body.access_token))).status).toBe(401);
  });

  it("DELETE /admin/oauth/clients/:id ends the client's tokens", async () => {
    const root = await admin(oauth, oauthDir);
    const doomed = await adminClient(oauth, root.token, {
      type: "public",
      name: "Doomed",
      grant_types: ["authorization_code", "refresh_token"],
    });
    const { code, verifier } = await codeFor(doomed);
    const first = await exchange(doomed, code, verifier);
    expect(first.status).toBe(200);
    const gone = await fetch(`${oauth}/admin/oauth/clients/${encodeURIComponent(doomed.client_id)}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${root.token}` },
    });
    expect(gone.status).toBe(204);
    // The client is gone: its refresh token has no client to authenticate as.
    expectOAuthError(await refresh(doomed, String(first.body.refresh_token)), 401, "invalid_client");
    expect((await userinfo(String(first.body.access_token))).status).toBe(401);
  });

  it("the token endpoint and discovery are open to browser apps of any origin, without credentials", async () => {
    const preflight = await fetch(`${oauth}/oauth/token`, {
      method: "OPTIONS",
      headers: {
        origin: "https://spa.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    const metadata = await fetch(`${oauth}/.well-known/openid-configuration`, {
      headers: { origin: "https://spa.example" },
    });
    expect(metadata.headers.get("access-control-allow-origin")).toBe("*");
  });
});
