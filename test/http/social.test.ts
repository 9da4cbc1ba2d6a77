import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { OAuth2Server } from "oauth2-mock-server";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { claimsOf, Jar, throughProvider } from "../support/social";
import { ALLOWED_ORIGINS } from "./servers";

// Social sign-in against real OpenID Connect providers on loopback: `npm run dev`'s Local
// IdP (oidc-provider 9, real login and consent pages) as `local`, and oauth2-mock-server
// 8.2 as `mock`, started here so its hooks can forge what a provider sends (the negative
// matrix). `social` has auto-link on; `allowlist` has the mock with SOCIAL_AUTO_LINK=off.
const { social, socialDir, allowlist, mockIssuer, defaults } = inject("servers");
const APP = `${ALLOWED_ORIGINS[1]}/signed-in`;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read field by field in assertions
type Json = Record<string, any>;
let mock: OAuth2Server;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  mock = new OAuth2Server();
  await mock.issuer.keys.generate("RS256");
  mock.issuer.url = mockIssuer; // it would say localhost
  await mock.start(Number(new URL(mockIssuer).port), "127.0.0.1");
});
afterAll(async () => {
  await mock?.stop();
});

/** The next id_token the mock signs gets `change` (its access token, signed first, not). */
function onIdToken(change: (token: { header: Json; payload: Json }) => void) {
  const hook = (token: { header: Json; payload: Json }) => {
    if (!("aud" in token.payload)) return;
    mock.service.off("beforeTokenSigning", hook);
    change(token);
  };
  mock.service.on("beforeTokenSigning", hook);
}

/** A person at the mock: a fresh subject and email, verified unless told. */
function person(claims: Json = {}) {
  const sub = crypto.randomUUID();
  return {
    sub,
    email: `social-${sub}@example.com`,
    email_verified: true,
    given_name: "Ada",
    family_name: "Lovelace",
    ...claims,
  };
}

/** GET /login/social/:id in a browser (`jar`): the 302 to the provider. */
async function start(jar: Jar, server: string, id: string, redirectTo = APP) {
  const res = await jar.fetch(`${server}/login/social/${id}?redirect_to=${encodeURIComponent(redirectTo)}`);
  expect(res.status).toBe(302);
  return res.headers.get("location") ?? "";
}

/** A whole trip through the mock with `claims` in its id_token: where the API sends the
 * browser in the end (the app's URL with `code`, `linked` or `error`). */
async function viaMock(
  server: string,
  claims: Json | undefined,
  { jar = new Jar(), startUrl }: { jar?: Jar; startUrl?: string } = {},
) {
  if (claims) onIdToken((token) => Object.assign(token.payload, claims));
  const authorize = startUrl
    ? await jar.fetch(startUrl).then((r) => r.headers.get("location") ?? "")
    : await start(jar, server, "mock");
  const back = await throughProvider(jar, authorize);
  const res = await jar.fetch(back.url);
  return { res, jar, callback: back.url, location: new URL(res.headers.get("location") ?? "", server) };
}

async function exchange(server: string, code: string) {
  return fetch(`${server}/login/exchange`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  });
}

async function signedIn(server: string, location: URL) {
  expect(location.origin + location.pathname).toBe(APP);
  expect(location.searchParams.get("error")).toBeNull();
  const res = await exchange(server, location.searchParams.get("code") ?? "");
  expect(res.status).toBe(200);
  // Exactly POST /login's body: the user's fields and the token pair.
  const body = (await res.json()) as Json;
  return { user: body, token: body.token as string };
}

const errorOf = (location: URL) => ({
  error: location.searchParams.get("error"),
  code: location.searchParams.get("code"),
});

async function register(server: string, email = `pw-${crypto.randomUUID()}@example.com`) {
  const body = { firstName: "Grace", lastName: "Hopper", email, password: "cobol-1959!" };
  const res = await fetch(`${server}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  const answer = (await res.json()) as Json;
  return { user: answer, token: answer.token as string, email, password: body.password };
}

const authed = (token: string, init: RequestInit = {}) => ({
  ...init,
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers ?? {}) },
});

describe("social sign-in: the providers and the start", () => {
  it("lists the providers in SOCIAL_PROVIDERS order, cacheable for a minute", async () => {
    const res = await fetch(`${social}/login/social`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(await res.json()).toEqual({
      providers: [
        { id: "local", name: "Local IdP" },
        { id: "mock", name: "Mock IdP" },
        { id: "github", name: "GitHub" },
        { id: "apple", name: "Apple" },
        { id: "microsoft", name: "Microsoft" },
      ],
    });
  });

  it("redirects to the provider with PKCE, state and nonce, and binds the trip to the browser by an HttpOnly cookie", async () => {
    const res = await fetch(`${social}/login/social/mock?redirect_to=${encodeURIComponent(APP)}`, {
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get("location") ?? "");
    expect(to.origin + to.pathname).toBe(`${mockIssuer}/authorize`);
    const q = Object.fromEntries(to.searchParams);
    expect(q).toMatchObject({
      response_type: "code",
      client_id: "mockclient",
      redirect_uri: `${social}/login/social/mock/callback`,
      scope: "openid email profile",
      code_challenge_method: "S256",
    });
    for (const name of ["state", "nonce", "code_challenge"]) expect(q[name]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(
      /^social_state=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/login\/social; HttpOnly; SameSite=Lax$/,
    );
  });

  it("with no flags, npm run dev offers the Local IdP and lets a trip come back to the dev server itself", async () => {
    const list = await fetch(`${defaults}/login/social`);
    expect(await list.json()).toEqual({ providers: [{ id: "local", name: "Local IdP" }] });
    const home = `${new URL(defaults).origin}/`;
    const res = await fetch(`${defaults}/login/social/local?redirect_to=${encodeURIComponent(home)}`, {
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get("location") ?? "");
    expect(to.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    const elsewhere = await fetch(`${defaults}/login/social/local?redirect_to=https://evil.example/`, {
      redirect: "manual",
    });
    expect(elsewhere.status).toBe(400);
  });

  it("refuses a missing or foreign redirect_to with 400 invalid_redirect and no redirect, an unknown provider with 404", async () => {
    for (const query of ["", "?redirect_to=https://evil.example/x", "?redirect_to=/relative"]) {
      const res = await fetch(`${social}/login/social/mock${query}`, { redirect: "manual" });
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as Json).error.code).toBe("invalid_redirect");
    }
    const unknown = await fetch(`${social}/login/social/nosuch?redirect_to=${encodeURIComponent(APP)}`, {
      redirect: "manual",
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as Json).error.code).toBe("not_found");
  });
});

describe("social sign-in through npm run dev's Local IdP (oidc-provider)", () => {
  it("signs up a new person with no password, then signs the same identity in again; amr is fed, never pwd", async () => {
    const login = `ada-${crypto.randomUUID()}@example.com`;
    const first = new Jar();
    const authorize = await start(first, social, "local");
    const back = await throughProvider(first, authorize, login);
    // oidc-provider sends RFC 9207's iss (its metadata says so), which the API checks.
    expect(back.url.searchParams.get("iss")).toBe(new URL(authorize).origin);
    const res = await first.fetch(back.url);
    expect(res.status).toBe(302);
    const { user, token } = await signedIn(social, new URL(res.headers.get("location") ?? ""));
    expect(user).toMatchObject({ email: login, first_name: login.slice(0, login.indexOf("@")), last_name: "Local" });
    const me = (await (await fetch(`${social}/me`, authed(token))).json()) as Json;
    expect(me.email_verified).toBe(true);
    const amr = claimsOf(token).amr as string[];
    expect(amr).toContain("fed");
    expect(amr).not.toContain("pwd");

    // The same identity again (a new browser: the IdP asks again): the same account.
    const second = new Jar();
    const again = await throughProvider(second, await start(second, social, "local"), login);
    const res2 = await second.fetch(again.url);
    const { user: same } = await signedIn(social, new URL(res2.headers.get("location") ?? ""));
    expect(same.id).toBe(user.id);

    // No password: a password login fails like a wrong password.
    const pw = await fetch(`${social}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: login, password: "" + "any-password-1" }),
    });
    expect(pw.status).toBe(400);
    expect(((await pw.json()) as Json).error.code).toBe("invalid_credentials");
  });
});

describe("social sign-in: the callback's checks (oauth2-mock-server)", () => {
  it("the one-time code works once: a second exchange is 400 invalid_code", async () => {
    const { location } = await viaMock(social, person());
    const code = location.searchParams.get("code") ?? "";
    expect((await exchange(social, code)).status).toBe(200);
    const twice = await exchange(social, code);
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as Json).error.code).toBe("invalid_code");
  });

  it("a replayed callback gets the 400 page: its state row is used up", async () => {
    const { jar, callback, location } = await viaMock(social, person());
    expect(location.searchParams.get("code")).toBeTruthy();
    const again = await jar.fetch(callback);
    expect(again.status).toBe(400);
    expect(again.headers.get("content-type")).toMatch(/^text\/html/);
    expect(again.headers.get("location")).toBeNull();
  });

  it("a forged state, or a callback without the browser's cookie, gets the 400 page and no redirect", async () => {
    mock.service.once("beforeAuthorizeRedirect", ({ url }: { url: URL }) =>
      url.searchParams.set("state", "forged-state"),
    );
    const jar = new Jar();
    const back = await throughProvider(jar, await start(jar, social, "mock"));
    const forged = await jar.fetch(back.url);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toMatch(/cannot continue/);

    const other = new Jar();
    const back2 = await throughProvider(other, await start(other, social, "mock"));
    const cookieless = await fetch(back2.url, { redirect: "manual" });
    expect(cookieless.status).toBe(400);
    expect(cookieless.headers.get("location")).toBeNull();
  });

  const refused: [string, () => void, string][] = [
    [
      "a wrong nonce",
      () => onIdToken((t) => Object.assign(t.payload, person(), { nonce: "another" })),
      "invalid_id_token",
    ],
    [
      "a token for another audience",
      () => onIdToken((t) => Object.assign(t.payload, person(), { aud: "someone-else" })),
      "invalid_id_token",
    ],
    [
      "an expired token",
      () => onIdToken((t) => Object.assign(t.payload, person(), { exp: now() - 120 })),
      "invalid_id_token",
    ],
    [
      "an iat 10 minutes ahead",
      () => onIdToken((t) => Object.assign(t.payload, person(), { iat: now() + 600 })),
      "invalid_id_token",
    ],
    [
      "an id_token iss of another issuer",
      () => onIdToken((t) => Object.assign(t.payload, person(), { iss: "http://127.0.0.1:1" })),
      "invalid_id_token",
    ],
    [
      "an unknown kid",
      () =>
        onIdToken((t) => {
          Object.assign(t.payload, person());
          t.header.kid = "no-such-kid";
        }),
      "invalid_id_token",
    ],
    [
      "a bad signature",
      () => {
        onIdToken((t) => Object.assign(t.payload, person()));
        mock.service.once("beforeResponse", (res: { body: Json }) => {
          const [h, p, s = ""] = String(res.body.id_token).split(".");
          res.body.id_token = `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
        });
      },
      "invalid_id_token",
    ],
    [
      "RFC 9207 iss of another issuer",
      () =>
        mock.service.once("beforeAuthorizeRedirect", ({ url }: { url: URL }) =>
          url.searchParams.set("iss", "http://127.0.0.1:1"),
        ),
      "invalid_state",
    ],
    [
      "the provider's access_denied",
      () =>
        mock.service.once("beforeAuthorizeRedirect", ({ url }: { url: URL }) => {
          url.searchParams.delete("code");
          url.searchParams.set("error", "access_denied");
          url.searchParams.set("error_description", "<script>said no</script>");
        }),
      "access_denied",
    ],
    [
      "a token endpoint error",
      () =>
        mock.service.once("beforeResponse", (res: { statusCode: number; body: Json }) => {
          res.statusCode = 400;
          res.body = { error: "invalid_grant" };
        }),
      "provider_error",
    ],
    [
      "no email from the provider",
      () => {
        const sub = crypto.randomUUID();
        onIdToken((t) => Object.assign(t.payload, { sub }));
        mock.service.once("beforeUserinfo", (res: { body: Json }) => {
          res.body = { sub };
        });
      },
      "email_required",
    ],
  ];
  for (const [name, setup, code] of refused) {
    it(`${name}: 302 to redirect_to with error=${code} and no code`, async () => {
      setup();
      const { res, location } = await viaMock(social, undefined);
      expect(res.status).toBe(302);
      expect(location.origin + location.pathname).toBe(APP);
      expect(errorOf(location)).toEqual({ error: code, code: null });
      expect(location.search).not.toMatch(/said|script/);
      mock.service.removeAllListeners("beforeTokenSigning");
    });
  }
});

describe("social sign-in: accounts and linking", () => {
  it("auto-links a verified identity to the account of the same verified email, and never changes that email", async () => {
    const claims = person();
    const first = await signedIn(social, (await viaMock(social, claims)).location);
    // Another identity (another subject) with the same verified email: the same account.
    const other = { ...person(), email: claims.email.toUpperCase() };
    const second = await signedIn(social, (await viaMock(social, other)).location);
    expect(second.user.id).toBe(first.user.id);
    expect(second.user.email).toBe(claims.email);
  });

  it("answers account_exists when the provider's email is unverified, or the account's own is", async () => {
    const claims = person();
    await signedIn(social, (await viaMock(social, claims)).location);
    const unverified = await viaMock(social, { ...person(), email: claims.email, email_verified: false });
    expect(errorOf(unverified.location)).toEqual({ error: "account_exists", code: null });

    const registered = await register(social);
    const verifiedAtProvider = await viaMock(social, { ...person(), email: registered.email });
    expect(errorOf(verifiedAtProvider.location)).toEqual({ error: "account_exists", code: null });
  });

  it("with SOCIAL_AUTO_LINK=off answers account_exists even when both sides are verified", async () => {
    const claims = person();
    await signedIn(allowlist, (await viaMock(allowlist, claims)).location);
    const again = await viaMock(allowlist, { ...person(), email: claims.email });
    expect(errorOf(again.location)).toEqual({ error: "account_exists", code: null });
  });

  it("links from the settings (another email), lists it, signs in with it, and unlinks it", async () => {
    const account = await register(social);
    const start = await fetch(
      `${social}/me/identities/mock`,
      authed(account.token, { method: "POST", body: JSON.stringify({ redirect_to: APP }) }),
    );
    expect(start.status).toBe(200);
    const { authorize_url } = (await start.json()) as { authorize_url: string };
    expect(authorize_url.startsWith(`${social}/login/social/mock?`)).toBe(true);
    const claims = person();
    const linked = await viaMock(social, claims, { startUrl: authorize_url });
    expect(Object.fromEntries(linked.location.searchParams)).toEqual({ linked: "mock" });

    const list = await fetch(`${social}/me/identities`, authed(account.token));
    const { identities } = (await list.json()) as { identities: Json[] };
    expect(identities).toEqual([
      { id: expect.any(String), provider: "mock", email: claims.email, created_at: expect.any(String) },
    ]);

    const again = await signedIn(social, (await viaMock(social, claims)).location);
    expect(again.user.id).toBe(account.user.id);
    expect(again.user.email).toBe(account.email);

    // Once linked, another account cannot link it.
    const thief = await register(social);
    const steal = await fetch(
      `${social}/me/identities/mock`,
      authed(thief.token, { method: "POST", body: JSON.stringify({ redirect_to: APP }) }),
    );
    const stolen = await viaMock(social, claims, { startUrl: ((await steal.json()) as Json).authorize_url });
    expect(errorOf(stolen.location)).toEqual({ error: "identity_in_use", code: null });

    // The account has a password: the identity can go.
    const id = identities[0]?.id;
    const gone = await fetch(`${social}/me/identities/${id}`, authed(account.token, { method: "DELETE" }));
    expect(gone.status).toBe(204);
    const after = await fetch(`${social}/me/identities`, authed(account.token));
    expect(((await after.json()) as Json).identities).toEqual([]);
  });

  it("a disabled account: error=account_disabled, no code", async () => {
    const claims = person();
    const { user } = await signedIn(social, (await viaMock(social, claims)).location);
    const admin = await register(social);
    // Not execFileSync: a blocked event loop keeps fetch from seeing the server close an idle
    // keep-alive socket, and the next request dies on it ("other side closed").
    await promisify(execFile)("npm", [
      "run",
      "-s",
      "admin:grant",
      "--",
      admin.email,
      "--local",
      "--persist-to",
      socialDir,
    ]);
    const disable = await fetch(
      `${social}/admin/users/${user.id}`,
      authed(admin.token, { method: "PATCH", body: JSON.stringify({ disabled: true }) }),
    );
    expect(disable.status).toBe(200);
    const again = await viaMock(social, claims);
    expect(errorOf(again.location)).toEqual({ error: "account_disabled", code: null });
  });

  it("refuses to unlink the last way to sign in of an account without a password with 409 last_sign_in_method", async () => {
    const { token } = await signedIn(social, (await viaMock(social, person())).location);
    const [identity] = (
      (await (await fetch(`${social}/me/identities`, authed(token))).json()) as { identities: Json[] }
    ).identities;
    const res = await fetch(`${social}/me/identities/${identity?.id}`, authed(token, { method: "DELETE" }));
    expect(res.status).toBe(409);
    expect(((await res.json()) as Json).error.code).toBe("last_sign_in_method");
  });
});

describe("social sign-in: form_post (Apple's way back)", () => {
  it("answers a cookieless cross-site POST with a same-origin page that posts the same fields again", async () => {
    onIdToken((token) => Object.assign(token.payload, person()));
    const jar = new Jar();
    const back = await throughProvider(jar, await start(jar, social, "mock"));
    const fields = back.url.searchParams;
    const callback = `${back.url.origin}${back.url.pathname}`;
    const form = {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: fields.toString(),
    };
    // The browser drops the Lax cookie on the provider's cross-site POST.
    const crossSite = await fetch(callback, { ...form, redirect: "manual" });
    expect(crossSite.status).toBe(200);
    const page = await crossSite.text();
    expect(page).toContain(`action="/login/social/mock/callback"`);
    expect(page).toContain(`name="state" value="${fields.get("state")}"`);
    expect(page).toContain(`name="reposted" value="1"`);
    // The page's same-origin POST carries the cookie: signed in.
    fields.set("reposted", "1");
    const reposted = await jar.fetch(callback, { ...form, body: fields.toString() });
    expect(reposted.status).toBe(302);
    await signedIn(social, new URL(reposted.headers.get("location") ?? ""));
    // A re-posted form still without the cookie stops at the 400 page (no loop).
    const again = await fetch(callback, { ...form, body: fields.toString(), redirect: "manual" });
    expect(again.status).toBe(400);
  });
});
