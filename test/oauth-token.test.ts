import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { createLocalJWKSet, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AuthorizationCodeData, mintAuthorizationCode } from "../src/features/oauth/codes";
import { revokeGrantQuery, startGrant } from "../src/identity/oauth-grants";
import { getConfig } from "../src/platform/config";
import type { Ctx } from "../src/platform/context";
import { base64url, sha256Hex } from "../src/platform/crypto";
import { consumeSingleUse, singleUseHash } from "../src/platform/single-use";
import { bearer, call, claimsOf, fromFreshAddress, newUser, postJson, roundTripsOf } from "./helpers";

// The token side of the OAuth 2.1 / OpenID Connect provider (issue 25): discovery, POST
// /oauth/token's three grants, client authentication, userinfo, revocation, introspection,
// RFC-shaped errors. Codes are minted with `mintAuthorizationCode` (the authorize pages are
// another branch's) and clients inserted straight into D1.

const ISSUER = "https://id.example.com";
const RESOURCE = "https://mcp.example.com/mcp";
const REDIRECT = "https://app.example.com/callback";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

let settings: Record<string, string>;

beforeAll(async () => {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const jwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid: "oauth-test-1" };
  settings = {
    JWT_ALG: "ES256",
    JWT_PRIVATE_KEYS: JSON.stringify([jwk]),
    OAUTH_PROVIDER: "true",
    PUBLIC_URL: `${ISSUER}/`,
    OAUTH_RESOURCES: RESOURCE,
    OAUTH_SCOPES: "mcp",
  };
});

beforeEach(() => fromFreshAddress());

const db = drizzle(env.DB);

function ctx(overrides: Record<string, string> = {}, now = new Date()): Ctx {
  return {
    db,
    config: getConfig({ ...env, ...settings, ...overrides }),
    source: { ip: "203.0.113.9", userAgent: "oauth-test", requestId: "r" },
    now,
    log: () => {},
    limit: async () => {},
  };
}

type Client = { clientId: string; secret?: string };

/** An oauth_clients row, as an admin would register it. */
async function client(
  options: { type?: "public" | "confidential"; grantTypes?: string[]; scope?: string | null; id?: string } = {},
): Promise<Client> {
  const type = options.type ?? "public";
  const clientId = options.id ?? `client-${crypto.randomUUID()}`;
  const secret = type === "confidential" ? `s3cret-${crypto.randomUUID()}` : undefined;
  const now = Date.now();
  await env.DB.prepare(
    `insert into oauth_clients (client_id, client_name, type, registration, secret_hash, token_endpoint_auth_method,
       redirect_uris, grant_types, scope, first_party, created_at, updated_at)
     values (?, 'Test app', ?, 'admin', ?, ?, ?, ?, ?, 0, ?, ?)`,
  )
    .bind(
      clientId,
      type,
      secret ? await sha256Hex(secret) : null,
      type === "public" ? "none" : "client_secret_basic",
      JSON.stringify([REDIRECT]),
      JSON.stringify(options.grantTypes ?? ["authorization_code", "refresh_token"]),
      options.scope === undefined ? null : options.scope,
      now,
      now,
    )
    .run();
  return { clientId, secret };
}

/** A registered user (through the API, so its own tokens are signed with the test key). */
async function person() {
  const input = newUser();
  const res = await postJson("/register", input, {}, settings);
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; token: string };
  return { id: body.id, token: body.token, input };
}

const verifier = () => `${crypto.randomUUID()}-${crypto.randomUUID()}`;
async function challengeOf(value: string) {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))));
}

/** An authorization code for `userId` and `clientId`, as the authorize pages would mint it. */
async function code(
  userId: string,
  clientId: string,
  data: Partial<AuthorizationCodeData> & { verifier?: string } = {},
  now = new Date(),
) {
  const codeVerifier = data.verifier ?? verifier();
  const { verifier: _, ...rest } = data;
  const minted = await mintAuthorizationCode(ctx({}, now), userId, {
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: await challengeOf(codeVerifier),
    scope: "email openid profile",
    auth_time: Math.floor(Date.now() / 1000) - 5,
    amr: ["pwd"],
    ...rest,
  });
  await minted.insert;
  return { code: minted.value, id: minted.id, verifier: codeVerifier };
}

function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}, extra = {}) {
  return call(
    path,
    { method: "POST", headers: { ...FORM, ...headers }, body: new URLSearchParams(form).toString() },
    { ...settings, ...extra },
  );
}

const token = (form: Record<string, string>, headers: Record<string, string> = {}, extra = {}) =>
  post("/oauth/token", form, headers, extra);

/** `Authorization: Basic` as RFC 6749 §2.3.1 spells it (form-url-encoded id and secret), or raw. */
function basic(id: string, secret: string, encode = true) {
  const enc = (v: string) => (encode ? encodeURIComponent(v).replace(/-/g, "%2D") : v);
  return { Authorization: `Basic ${btoa(`${enc(id)}:${enc(secret)}`)}` };
}

async function oauthError(res: Response) {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const body = (await res.json()) as { error: string; error_description?: string };
  expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
  return body.error;
}

type Tokens = { access_token: string; refresh_token?: string; id_token?: string; scope: string; expires_in: number };

/** A public client's first tokens: code minted, then traded. */
async function grant(options: { scope?: string; nonce?: string; resource?: string } = {}) {
  const user = await person();
  const app = await client();
  const minted = await code(user.id, app.clientId, {
    scope: options.scope ?? "email openid profile",
    ...(options.nonce && { nonce: options.nonce }),
    ...(options.resource && { resource: options.resource }),
  });
  const res = await token({
    grant_type: "authorization_code",
    code: minted.code,
    redirect_uri: REDIRECT,
    code_verifier: minted.verifier,
    client_id: app.clientId,
  });
  expect(res.status).toBe(200);
  return { user, app, minted, tokens: (await res.json()) as Tokens };
}

const exchange = (minted: { code: string; verifier: string }, clientId: string, extra: Record<string, string> = {}) =>
  token({
    grant_type: "authorization_code",
    code: minted.code,
    redirect_uri: REDIRECT,
    code_verifier: minted.verifier,
    client_id: clientId,
    ...extra,
  });

describe("discovery", () => {
  it("serves one document at both paths, every field under the issuer, public and cacheable", async () => {
    const a = await call("/.well-known/oauth-authorization-server", {}, settings);
    const b = await call("/.well-known/openid-configuration", {}, settings);
    expect(a.status).toBe(200);
    expect(a.headers.get("cache-control")).toMatch(/^public, max-age=\d+$/);
    const doc = (await a.json()) as Record<string, unknown>;
    expect(await b.json()).toEqual(doc);
    expect(doc).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/oauth/authorize`,
      token_endpoint: `${ISSUER}/oauth/token`,
      userinfo_endpoint: `${ISSUER}/oauth/userinfo`,
      revocation_endpoint: `${ISSUER}/oauth/revoke`,
      introspection_endpoint: `${ISSUER}/oauth/introspect`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
      scopes_supported: ["openid", "profile", "email", "offline_access", "mcp"],
      authorization_response_iss_parameter_supported: true,
      // OAUTH_CLIENT_METADATA_DOCUMENTS defaults to true when the provider is on.
      client_id_metadata_document_supported: true,
      id_token_signing_alg_values_supported: ["ES256"],
      subject_types_supported: ["public"],
    });
    expect(doc).not.toHaveProperty("registration_endpoint");
    expect(doc.claims_supported).toEqual(expect.arrayContaining(["sub", "email", "name", "nonce", "auth_time"]));
    const open = await call(
      "/.well-known/openid-configuration",
      {},
      { ...settings, OAUTH_DYNAMIC_REGISTRATION: "true", OAUTH_CLIENT_METADATA_DOCUMENTS: "false" },
    );
    expect(await open.json()).toMatchObject({
      registration_endpoint: `${ISSUER}/oauth/register`,
      client_id_metadata_document_supported: false,
    });
  });

  it("answers 404 while the provider is off", async () => {
    for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
      const res = await call(path, {}, { ...settings, OAUTH_PROVIDER: "false" });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("is open to every origin without credentials, whatever CORS_ORIGINS says, and the API's own CORS is unchanged", async () => {
    const cors = { ...settings, CORS_ORIGINS: "https://app.example.com", CORS_CREDENTIALS: "true" };
    const origin = { Origin: "https://elsewhere.example" };
    for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
      const res = await call(path, { headers: origin }, cors);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    }
    const preflight = await call(
      "/oauth/token",
      { method: "OPTIONS", headers: { ...origin, "Access-Control-Request-Method": "POST" } },
      cors,
    );
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    const refused = await post("/oauth/token", { grant_type: "nope" }, origin, cors);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    // The API's own routes still answer only the configured origin, with credentials.
    const api = await call("/health", { headers: origin }, cors);
    expect(api.headers.get("access-control-allow-origin")).toBeNull();
    const allowed = await call("/health", { headers: { Origin: "https://app.example.com" } }, cors);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
  });
});

describe("the /oauth/* endpoints' errors", () => {
  it("answer 404 in the RFC shape while the provider is off", async () => {
    const off = { OAUTH_PROVIDER: "false" };
    for (const path of ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/userinfo"]) {
      const res = await post(path, { grant_type: "authorization_code" }, {}, off);
      expect(res.status, path).toBe(404);
      expect(await oauthError(res)).toBe("invalid_request");
    }
    const get = await call("/oauth/userinfo", {}, { ...settings, ...off });
    expect(get.status).toBe(404);
    expect(await oauthError(get)).toBe("invalid_request");
  });

  it("take the RFC shape for a JSON body, a body over 16 KiB, an unknown path and a wrong method", async () => {
    const json = await call(
      "/oauth/token",
      { method: "POST", headers: { "content-type": "application/json" }, body: '{"grant_type":"client_credentials"}' },
      settings,
    );
    expect(json.status).toBe(400);
    expect(await oauthError(json)).toBe("invalid_request");
    const big = await token({ grant_type: "authorization_code", code: "x".repeat(17 * 1024) });
    expect(big.status).toBe(413);
    expect(await oauthError(big)).toBe("invalid_request");
    const unknown = await call("/oauth/nothing-here", {}, settings);
    expect(unknown.status).toBe(404);
    expect(await oauthError(unknown)).toBe("invalid_request");
    const wrongMethod = await call("/oauth/token", {}, settings);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toContain("POST");
    expect(await oauthError(wrongMethod)).toBe("invalid_request");
  });

  it("answer 429 temporarily_unavailable past the per-IP limit, on each endpoint", async () => {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 250));
    let limited: Response | undefined;
    for (let i = 0; i < 310 && !limited; i++) {
      const res = await token({ grant_type: "password" });
      if (res.status === 429) limited = res;
    }
    expect(limited?.status).toBe(429);
    expect(limited?.headers.get("retry-after")).toBeTruthy();
    expect(await oauthError(limited as Response)).toBe("temporarily_unavailable");
    for (const path of ["/oauth/revoke", "/oauth/introspect"]) {
      const res = await post(path, { token: "x" });
      expect(res.status, path).toBe(429);
      expect(await oauthError(res)).toBe("temporarily_unavailable");
    }
  }, 70_000);

  it("refuses a missing or unknown grant_type and a repeated parameter", async () => {
    const app = await client();
    const missing = await token({ client_id: app.clientId });
    expect(await oauthError(missing)).toBe("invalid_request");
    const unknown = await token({ grant_type: "password", client_id: app.clientId });
    expect(unknown.status).toBe(400);
    expect(await oauthError(unknown)).toBe("unsupported_grant_type");
    const twice = await call(
      "/oauth/token",
      { method: "POST", headers: FORM, body: "grant_type=refresh_token&grant_type=refresh_token" },
      settings,
    );
    expect(await oauthError(twice)).toBe("invalid_request");
    const resources = await call(
      "/oauth/token",
      { method: "POST", headers: FORM, body: `grant_type=client_credentials&resource=a&resource=b` },
      settings,
    );
    expect(await oauthError(resources)).toBe("invalid_target");
  });
});

describe("POST /oauth/token, authorization_code", () => {
  it("answers the tokens, no-store, with an RFC 9068 access token and an id_token that verifies against the JWKS", async () => {
    const user = await person();
    const app = await client();
    const minted = await code(user.id, app.clientId, { nonce: "n-123", scope: "email openid profile" });
    const res = await exchange(minted, app.clientId);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    const body = (await res.json()) as Tokens & { token_type: string };
    expect(Object.keys(body).sort()).toEqual([
      "access_token",
      "expires_in",
      "id_token",
      "refresh_token",
      "scope",
      "token_type",
    ]);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "email openid profile" });

    const jwks = createLocalJWKSet(await (await call("/.well-known/jwks.json", {}, settings)).json());
    const access = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, audience: ISSUER, typ: "at+jwt" });
    expect(access.protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt", kid: "oauth-test-1" });
    expect(access.payload).toMatchObject({
      sub: user.id,
      client_id: app.clientId,
      scope: "email openid profile",
      amr: ["pwd"],
    });
    for (const claim of ["exp", "iat", "jti", "auth_time", "sid"]) expect(access.payload).toHaveProperty(claim);
    expect((access.payload.exp as number) - (access.payload.iat as number)).toBe(3600);

    const id = await jwtVerify(body.id_token as string, jwks, { issuer: ISSUER, audience: app.clientId, typ: "JWT" });
    expect(id.protectedHeader).toEqual({ alg: "ES256", typ: "JWT", kid: "oauth-test-1" });
    expect(id.payload).toMatchObject({
      sub: user.id,
      nonce: "n-123",
      amr: ["pwd"],
      email: user.input.email,
      email_verified: false,
      name: "Ada Lovelace",
      given_name: "Ada",
      family_name: "Lovelace",
    });
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body.access_token)));
    expect(id.payload.at_hash).toBe(base64url(digest.slice(0, 16)));
    expect(id.payload.auth_time).toBe(access.payload.auth_time);
    // The client is in use (housekeeping deletes unused dynamic clients).
    const used = await env.DB.prepare("select last_used_at from oauth_clients where client_id = ?")
      .bind(app.clientId)
      .first<{ last_used_at: number | null }>();
    expect(used?.last_used_at).toBeGreaterThan(0);
  });

  it("leaves out nonce when the request had none, the id_token without openid, profile claims without profile", async () => {
    const { tokens } = await grant({ scope: "email openid" });
    const id = claimsOf(tokens.id_token as string);
    expect(id).not.toHaveProperty("nonce");
    expect(id).not.toHaveProperty("name");
    expect(id).toHaveProperty("email");
    const plain = await grant({ scope: "mcp" });
    expect(plain.tokens).not.toHaveProperty("id_token");
    // A refresh token without offline_access: the client is registered with the refresh_token grant.
    expect(plain.tokens.refresh_token).toBeTruthy();
  });

  it("gives no refresh token to a client without the refresh_token grant", async () => {
    const user = await person();
    const app = await client({ grantTypes: ["authorization_code"] });
    const res = await exchange(await code(user.id, app.clientId), app.clientId);
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty("refresh_token");
  });

  it("puts the resource in aud, and refuses a resource other than the code's", async () => {
    const { tokens } = await grant({ resource: RESOURCE, scope: "mcp" });
    expect(claimsOf(tokens.access_token).aud).toBe(RESOURCE);
    const user = await person();
    const app = await client();
    const minted = await code(user.id, app.clientId, { resource: RESOURCE });
    const other = await exchange(minted, app.clientId, { resource: "https://other.example.com/mcp" });
    expect(other.status).toBe(400);
    expect(await oauthError(other)).toBe("invalid_target");
    const none = await code(user.id, app.clientId);
    const added = await exchange(none, app.clientId, { resource: RESOURCE });
    expect(await oauthError(added)).toBe("invalid_target");
    const same = await exchange(await code(user.id, app.clientId, { resource: RESOURCE }), app.clientId, {
      resource: RESOURCE,
    });
    expect(same.status).toBe(200);
  });

  it("refuses a wrong PKCE verifier (invalid_grant) and a malformed one (invalid_request)", async () => {
    const user = await person();
    const app = await client();
    const minted = await code(user.id, app.clientId);
    const wrong = await exchange({ ...minted, verifier: verifier() }, app.clientId);
    expect(wrong.status).toBe(400);
    expect(await oauthError(wrong)).toBe("invalid_grant");
    const short = await exchange({ ...(await code(user.id, app.clientId)), verifier: "too-short" }, app.clientId);
    expect(await oauthError(short)).toBe("invalid_request");
    const missing = await token({ grant_type: "authorization_code", code: minted.code, client_id: app.clientId });
    expect(await oauthError(missing)).toBe("invalid_request");
  });

  it("refuses an expired code, a code of another client, another redirect_uri and an unknown code", async () => {
    const user = await person();
    const app = await client();
    const old = await code(user.id, app.clientId, {}, new Date(Date.now() - 120_000));
    expect(await oauthError(await exchange(old, app.clientId))).toBe("invalid_grant");
    const other = await client();
    const theirs = await code(user.id, other.clientId);
    expect(await oauthError(await exchange(theirs, app.clientId))).toBe("invalid_grant");
    const mine = await code(user.id, app.clientId);
    const elsewhere = await token({
      grant_type: "authorization_code",
      code: mine.code,
      redirect_uri: `${REDIRECT}/other`,
      code_verifier: mine.verifier,
      client_id: app.clientId,
    });
    expect(await oauthError(elsewhere)).toBe("invalid_grant");
    expect(await oauthError(await exchange({ code: "nope", verifier: verifier() }, app.clientId))).toBe(
      "invalid_grant",
    );
  });

  it("answers a second use of a code invalid_grant and revokes every token issued from it", async () => {
    const { user, app, minted, tokens } = await grant();
    const again = await exchange(minted, app.clientId);
    expect(again.status).toBe(400);
    expect(await oauthError(again)).toBe("invalid_grant");
    const refreshed = await token({
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token as string,
      client_id: app.clientId,
    });
    expect(await oauthError(refreshed)).toBe("invalid_grant");
    expect((await call("/oauth/userinfo", { headers: bearer(tokens.access_token) }, settings)).status).toBe(401);
    const events = await env.DB.prepare("select type, details from audit_events where user_id = ? and type = ?")
      .bind(user.id, "oauth_code_reused")
      .all<{ details: string }>();
    expect(events.results).toHaveLength(1);
    expect(JSON.parse(events.results[0]?.details ?? "{}")).toEqual({ client_id: app.clientId });
  });

  it("refuses the code of a disabled account", async () => {
    const user = await person();
    const app = await client();
    const minted = await code(user.id, app.clientId);
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(user.id).run();
    expect(await oauthError(await exchange(minted, app.clientId))).toBe("invalid_grant");
  });

  it("refuses a client not registered for the grant", async () => {
    const user = await person();
    const app = await client({ grantTypes: ["client_credentials"], type: "confidential" });
    const minted = await code(user.id, app.clientId);
    const res = await exchange(minted, app.clientId, { client_secret: app.secret as string });
    expect(await oauthError(res)).toBe("unauthorized_client");
  });
});

describe("POST /oauth/token, refresh_token", () => {
  const refresh = (refreshToken: string, clientId: string, extra: Record<string, string> = {}, settingsExtra = {}) =>
    token(
      { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId, ...extra },
      {},
      settingsExtra,
    );

  it("rotates the refresh token; a narrower scope narrows the new access token only", async () => {
    const { app, tokens } = await grant({ resource: RESOURCE, scope: "mcp openid profile" });
    const first = await refresh(tokens.refresh_token as string, app.clientId, { scope: "mcp", resource: RESOURCE });
    expect(first.status).toBe(200);
    const next = (await first.json()) as Tokens;
    expect(next.scope).toBe("mcp");
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next).not.toHaveProperty("id_token");
    expect(claimsOf(next.access_token)).toMatchObject({
      scope: "mcp",
      aud: RESOURCE,
      sid: claimsOf(tokens.access_token).sid,
    });
    // The grant keeps its scope: the next refresh without scope gets all of it back.
    const second = await refresh(next.refresh_token as string, app.clientId);
    const widest = (await second.json()) as Tokens;
    expect(widest.scope).toBe("mcp openid profile");
    // `scope=` sent empty is omitted (RFC 6749 §3.1): the grant's whole scope again.
    const empty = await refresh(widest.refresh_token as string, app.clientId, { scope: "" });
    expect(((await empty.json()) as Tokens).scope).toBe("mcp openid profile");
  });

  it("refuses a wider scope, another resource, another client's token and a client without the grant", async () => {
    const { app, tokens } = await grant({ scope: "openid" });
    const rt = tokens.refresh_token as string;
    expect(await oauthError(await refresh(rt, app.clientId, { scope: "openid email" }))).toBe("invalid_scope");
    expect(await oauthError(await refresh(rt, app.clientId, { resource: RESOURCE }))).toBe("invalid_target");
    const other = await client();
    expect(await oauthError(await refresh(rt, other.clientId))).toBe("invalid_grant");
    const noRefresh = await client({ grantTypes: ["authorization_code"] });
    expect(await oauthError(await refresh(rt, noRefresh.clientId))).toBe("unauthorized_client");
    // None of that spent the token.
    expect((await refresh(rt, app.clientId)).status).toBe(200);
  });

  it("refuses the API's own refresh tokens, and the grant's at POST /token/refresh", async () => {
    const { app, tokens } = await grant();
    const res = await postJson("/register", newUser(), {}, settings);
    const own = ((await res.json()) as { refresh_token: string }).refresh_token;
    expect(await oauthError(await refresh(own, app.clientId))).toBe("invalid_grant");
    const api = await postJson("/token/refresh", { refresh_token: tokens.refresh_token }, {}, settings);
    expect(api.status).toBe(401);
  });

  it("revokes the grant when a rotated token comes back after the reuse interval", async () => {
    const { user, app, tokens } = await grant();
    const noInterval = { REFRESH_REUSE_INTERVAL: "0" };
    const next = (await (await refresh(tokens.refresh_token as string, app.clientId, {}, noInterval)).json()) as Tokens;
    const reused = await refresh(tokens.refresh_token as string, app.clientId, {}, noInterval);
    expect(await oauthError(reused)).toBe("invalid_grant");
    // The family is gone: the newest token too.
    expect(await oauthError(await refresh(next.refresh_token as string, app.clientId, {}, noInterval))).toBe(
      "invalid_grant",
    );
    const events = await env.DB.prepare("select details from audit_events where user_id = ? and type = ?")
      .bind(user.id, "refresh_token_reused")
      .all<{ details: string }>();
    expect(events.results).toHaveLength(1);
    expect(JSON.parse(events.results[0]?.details ?? "{}")).toMatchObject({ client_id: app.clientId });
  });

  it("gives a second branch to a token presented again within the reuse interval", async () => {
    const { app, tokens } = await grant();
    expect((await refresh(tokens.refresh_token as string, app.clientId)).status).toBe(200);
    expect((await refresh(tokens.refresh_token as string, app.clientId)).status).toBe(200);
  });

  it("refuses the token of a disabled account", async () => {
    const { user, app, tokens } = await grant();
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(user.id).run();
    expect(await oauthError(await refresh(tokens.refresh_token as string, app.clientId))).toBe("invalid_grant");
  });
});

describe("client authentication", () => {
  async function confidential() {
    const user = await person();
    const app = await client({ type: "confidential" });
    return { user, app, secret: app.secret as string };
  }

  it("accepts client_secret_basic form-url-encoded (%2D) and raw, and client_secret_post", async () => {
    const { user, app, secret } = await confidential();
    const form = (minted: { code: string; verifier: string }) => ({
      grant_type: "authorization_code",
      code: minted.code,
      redirect_uri: REDIRECT,
      code_verifier: minted.verifier,
    });
    const encoded = basic(app.clientId, secret);
    expect(atob(encoded.Authorization.slice(6))).toContain("%2D");
    expect((await token(form(await code(user.id, app.clientId)), encoded)).status).toBe(200);
    expect((await token(form(await code(user.id, app.clientId)), basic(app.clientId, secret, false))).status).toBe(200);
    const minted = await code(user.id, app.clientId);
    expect((await token({ ...form(minted), client_id: app.clientId, client_secret: secret })).status).toBe(200);
  });

  it("answers invalid_client, 401 with WWW-Authenticate: Basic, for a wrong secret over Basic", async () => {
    const { user, app } = await confidential();
    const minted = await code(user.id, app.clientId);
    const res = await exchange(minted, app.clientId, {}).then(() =>
      token(
        { grant_type: "authorization_code", code: minted.code, redirect_uri: REDIRECT, code_verifier: minted.verifier },
        basic(app.clientId, "wrong"),
      ),
    );
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="/);
    expect(await oauthError(res)).toBe("invalid_client");
  });

  it("refuses a public client sending a secret, a confidential one sending none, an unknown one, and two methods at once", async () => {
    const pub = await client();
    const publicWithSecret = await token({ grant_type: "refresh_token", client_id: pub.clientId, client_secret: "x" });
    expect(publicWithSecret.status).toBe(401);
    expect(await oauthError(publicWithSecret)).toBe("invalid_client");
    const { app, secret } = await confidential();
    expect(await oauthError(await token({ grant_type: "refresh_token", client_id: app.clientId }))).toBe(
      "invalid_client",
    );
    expect(await oauthError(await token({ grant_type: "refresh_token", client_id: "nobody" }))).toBe("invalid_client");
    expect(await oauthError(await token({ grant_type: "refresh_token" }))).toBe("invalid_client");
    const both = await token({ grant_type: "refresh_token", client_secret: secret }, basic(app.clientId, secret));
    expect(both.status).toBe(400);
    expect(await oauthError(both)).toBe("invalid_request");
  });
});

describe("client authentication, odd Basic headers", () => {
  it("refuses unreadable Basic credentials (401 + Basic) and a body client_id naming another client", async () => {
    const app = await client({ type: "confidential" });
    for (const header of ["Basic !!!", `Basic ${btoa("no-colon")}`, `Basic ${btoa(":secret")}`]) {
      const res = await token({ grant_type: "refresh_token", refresh_token: "x" }, { Authorization: header });
      expect(res.status, header).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="/);
      expect(await oauthError(res)).toBe("invalid_client");
    }
    const mismatch = await token(
      { grant_type: "refresh_token", refresh_token: "x", client_id: "someone-else" },
      basic(app.clientId, app.secret as string),
    );
    expect(await oauthError(mismatch)).toBe("invalid_request");
    const same = await token(
      { grant_type: "refresh_token", refresh_token: "x", client_id: app.clientId },
      basic(app.clientId, app.secret as string),
    );
    // Authenticated: the refresh token itself is what fails.
    expect(await oauthError(same)).toBe("invalid_grant");
  });
});

describe("POST /oauth/token, client_credentials", () => {
  it("gives a confidential client a token about itself, its own scopes, no refresh token or id_token", async () => {
    const app = await client({ type: "confidential", grantTypes: ["client_credentials"], scope: "mcp" });
    const res = await token(
      { grant_type: "client_credentials", resource: RESOURCE },
      basic(app.clientId, app.secret as string),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Tokens;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "scope", "token_type"]);
    expect(body.scope).toBe("mcp");
    expect(claimsOf(body.access_token)).toMatchObject({ sub: app.clientId, client_id: app.clientId, aud: RESOURCE });
    expect(claimsOf(body.access_token)).not.toHaveProperty("sid");
  });

  it("refuses public clients, clients without the grant, scopes beyond the client's and unknown resources", async () => {
    const pub = await client({ grantTypes: ["client_credentials"] });
    expect(await oauthError(await token({ grant_type: "client_credentials", client_id: pub.clientId }))).toBe(
      "unauthorized_client",
    );
    const without = await client({ type: "confidential" });
    const auth = basic(without.clientId, without.secret as string);
    expect(await oauthError(await token({ grant_type: "client_credentials" }, auth))).toBe("unauthorized_client");
    const app = await client({ type: "confidential", grantTypes: ["client_credentials"], scope: "mcp" });
    const mine = basic(app.clientId, app.secret as string);
    expect(await oauthError(await token({ grant_type: "client_credentials", scope: "mcp openid" }, mine))).toBe(
      "invalid_scope",
    );
    expect(
      await oauthError(await token({ grant_type: "client_credentials", resource: "https://x.example/" }, mine)),
    ).toBe("invalid_target");
  });
});

describe("access tokens and the API", () => {
  it("an OAuth access token is refused at /me, and the API's own token at /oauth/userinfo", async () => {
    const { user, tokens } = await grant();
    const me = await call("/me", { headers: bearer(tokens.access_token) }, settings);
    expect(me.status).toBe(401);
    const own = await call("/oauth/userinfo", { headers: bearer(user.token) }, settings);
    expect(own.status).toBe(401);
    expect(own.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(await oauthError(own)).toBe("invalid_token");
  });
});

describe("/oauth/userinfo", () => {
  it("answers sub and the claims the scopes allow, by GET and by POST", async () => {
    const { user, tokens } = await grant({ scope: "openid profile" });
    for (const method of ["GET", "POST"]) {
      const res = await call("/oauth/userinfo", { method, headers: bearer(tokens.access_token) }, settings);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        sub: user.id,
        name: "Ada Lovelace",
        given_name: "Ada",
        family_name: "Lovelace",
      });
    }
  });

  it("reads the token from a POST form body too (RFC 6750 §2.2), never from both places", async () => {
    const { user, tokens } = await grant({ scope: "openid" });
    const body = new URLSearchParams({ access_token: tokens.access_token }).toString();
    const res = await call("/oauth/userinfo", { method: "POST", headers: FORM, body }, settings);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: user.id });
    const both = await call(
      "/oauth/userinfo",
      { method: "POST", headers: { ...FORM, ...bearer(tokens.access_token) }, body },
      settings,
    );
    expect(both.status).toBe(400);
    expect(await oauthError(both)).toBe("invalid_request");
    const query = await call(`/oauth/userinfo?access_token=${tokens.access_token}`, {}, settings);
    expect(query.status).toBe(401);
  });

  it("answers 403 insufficient_scope without openid, 401 without a token or once the grant ended", async () => {
    const plain = await grant({ scope: "mcp" });
    for (const method of ["GET", "POST"]) {
      const res = await call("/oauth/userinfo", { method, headers: bearer(plain.tokens.access_token) }, settings);
      expect(res.status).toBe(403);
      expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
      expect(await oauthError(res)).toBe("insufficient_scope");
      const none = await call("/oauth/userinfo", { method }, settings);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe("Bearer");
      expect(await oauthError(none)).toBe("invalid_token");
    }
    const { user, app, tokens } = await grant();
    expect(await revokeGrantQuery(db, user.id, app.clientId, new Date())).toHaveLength(1);
    const ended = await call("/oauth/userinfo", { headers: bearer(tokens.access_token) }, settings);
    expect(ended.status).toBe(401);
  });
});

describe("POST /oauth/revoke", () => {
  it("ends the whole grant for a refresh token or an access token of the calling client", async () => {
    const a = await grant();
    const byRefresh = await post("/oauth/revoke", {
      token: a.tokens.refresh_token as string,
      client_id: a.app.clientId,
    });
    expect(byRefresh.status).toBe(200);
    expect(await byRefresh.text()).toBe("");
    expect((await call("/oauth/userinfo", { headers: bearer(a.tokens.access_token) }, settings)).status).toBe(401);
    const b = await grant();
    expect((await post("/oauth/revoke", { token: b.tokens.access_token, client_id: b.app.clientId })).status).toBe(200);
    const refreshed = await token({
      grant_type: "refresh_token",
      refresh_token: b.tokens.refresh_token as string,
      client_id: b.app.clientId,
    });
    expect(await oauthError(refreshed)).toBe("invalid_grant");
    const events = await env.DB.prepare("select count(*) as n from audit_events where user_id = ? and type = ?")
      .bind(b.user.id, "oauth_token_revoked")
      .first<{ n: number }>();
    expect(events?.n).toBe(1);
  });

  it("answers 200 and revokes nothing for an unknown token or another client's", async () => {
    const a = await grant();
    const other = await client();
    expect((await post("/oauth/revoke", { token: "unknown", client_id: other.clientId })).status).toBe(200);
    expect(
      (await post("/oauth/revoke", { token: a.tokens.refresh_token as string, client_id: other.clientId })).status,
    ).toBe(200);
    expect((await post("/oauth/revoke", { token: a.tokens.access_token, client_id: other.clientId })).status).toBe(200);
    expect((await call("/oauth/userinfo", { headers: bearer(a.tokens.access_token) }, settings)).status).toBe(200);
    expect(await oauthError(await post("/oauth/revoke", { client_id: other.clientId }))).toBe("invalid_request");
    expect(await oauthError(await post("/oauth/revoke", { token: "x", client_id: "nobody" }))).toBe("invalid_client");
  });
});

describe("POST /oauth/introspect", () => {
  it("describes a live access or refresh token to a confidential client, and nothing else", async () => {
    const rs = await client({ type: "confidential" });
    const auth = basic(rs.clientId, rs.secret as string);
    const { user, app, tokens } = await grant({ scope: "email openid", resource: RESOURCE });
    const access = await post("/oauth/introspect", { token: tokens.access_token }, auth);
    expect(access.status).toBe(200);
    expect(access.headers.get("cache-control")).toBe("no-store");
    const claims = claimsOf(tokens.access_token);
    expect(await access.json()).toEqual({
      active: true,
      scope: "email openid",
      client_id: app.clientId,
      sub: user.id,
      aud: RESOURCE,
      iss: ISSUER,
      exp: claims.exp,
      iat: claims.iat,
      token_type: "Bearer",
      username: user.input.email,
    });
    for (const dead of ["unknown", user.token, tokens.id_token as string]) {
      expect(await (await post("/oauth/introspect", { token: dead }, auth)).json()).toEqual({ active: false });
    }
    // A refresh token is described to the client it was issued to (a confidential one here).
    const owner = await client({ type: "confidential" });
    const ownerAuth = basic(owner.clientId, owner.secret as string);
    const ownerCode = await code(user.id, owner.clientId, { scope: "email openid" });
    const ownerTokens = (await (
      await token(
        {
          grant_type: "authorization_code",
          code: ownerCode.code,
          redirect_uri: REDIRECT,
          code_verifier: ownerCode.verifier,
        },
        ownerAuth,
      )
    ).json()) as Tokens;
    const first = ownerTokens.refresh_token as string;
    const refresh = await post("/oauth/introspect", { token: first }, ownerAuth);
    expect(await refresh.json()).toMatchObject({ active: true, client_id: owner.clientId, sub: user.id });
    // A rotated refresh token is no longer active; its successor is.
    const rotated = (await (
      await token({ grant_type: "refresh_token", refresh_token: first }, ownerAuth)
    ).json()) as Tokens;
    expect(await (await post("/oauth/introspect", { token: first }, ownerAuth)).json()).toEqual({ active: false });
    expect(
      await (await post("/oauth/introspect", { token: rotated.refresh_token as string }, ownerAuth)).json(),
    ).toMatchObject({
      active: true,
      token_type: "refresh_token",
    });
    await revokeGrantQuery(db, user.id, app.clientId, new Date());
    expect(await (await post("/oauth/introspect", { token: tokens.access_token }, auth)).json()).toEqual({
      active: false,
    });
    expect(await oauthError(await post("/oauth/introspect", {}, auth))).toBe("invalid_request");
  });

  it("refuses public clients with 401 invalid_client", async () => {
    const pub = await client();
    const res = await post("/oauth/introspect", { token: "x", client_id: pub.clientId });
    expect(res.status).toBe(401);
    expect(await oauthError(res)).toBe("invalid_client");
  });
});

describe("D1 round trips of POST /oauth/token", () => {
  it("authorization_code makes three (client, code used with its user, grant started); a second use four", async () => {
    const user = await person();
    const app = await client();
    const minted = await code(user.id, app.clientId);
    const form = {
      grant_type: "authorization_code",
      code: minted.code,
      redirect_uri: REDIRECT,
      code_verifier: minted.verifier,
      client_id: app.clientId,
    };
    const first = await roundTripsOf((b) => token(form, {}, b));
    expect(first.res.status).toBe(200);
    expect(first.roundTrips).toBe(3);
    // The used code's row is read, then its grant revoked with the audit event.
    const again = await roundTripsOf((b) => token(form, {}, b));
    expect(again.res.status).toBe(400);
    expect(again.roundTrips).toBe(4);
  });

  it("refresh_token makes three (client, token, rotation)", async () => {
    const { app, tokens } = await grant();
    const form = {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token as string,
      client_id: app.clientId,
    };
    const { res, roundTrips } = await roundTripsOf((b) => token(form, {}, b));
    expect(res.status).toBe(200);
    expect(roundTrips).toBe(3);
  });

  it("discovery makes none", async () => {
    const { res, roundTrips } = await roundTripsOf((b) =>
      call("/.well-known/oauth-authorization-server", {}, { ...settings, ...b }),
    );
    expect(res.status).toBe(200);
    expect(roundTrips).toBe(0);
  });
});

describe("oauth4webapi, a client nobody here wrote, against the token side", () => {
  /** oauth4webapi's requests, answered by the app in this isolate. */
  const fetcher = (url: string, init?: RequestInit) => {
    const { pathname, search } = new URL(url);
    return call(`${pathname}${search}`, init ?? {}, settings);
  };
  const options = { [oauth.customFetch]: fetcher };

  it("discovers, trades a code (Basic, %2D-encoded by the library), checks the id_token, refreshes, reads userinfo, introspects, revokes", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(ISSUER),
      await oauth.discoveryRequest(new URL(ISSUER), { ...options, algorithm: "oauth2" }),
    );
    const user = await person();
    const app = await client({ type: "confidential" });
    const rp: oauth.Client = { client_id: app.clientId, id_token_signed_response_alg: "ES256" };
    const auth = oauth.ClientSecretBasic(app.secret as string);
    const minted = await code(user.id, app.clientId, { nonce: "nonce-1" });
    const callback = oauth.validateAuthResponse(
      as,
      rp,
      new URL(`${REDIRECT}?code=${minted.code}&iss=${encodeURIComponent(ISSUER)}`),
      oauth.expectNoState,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      rp,
      await oauth.authorizationCodeGrantRequest(as, rp, auth, callback, REDIRECT, minted.verifier, options),
      { expectedNonce: "nonce-1", requireIdToken: true },
    );
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    expect(claims?.sub).toBe(user.id);
    const info = await oauth.processUserInfoResponse(
      as,
      rp,
      user.id,
      await oauth.userInfoRequest(as, rp, tokens.access_token, options),
    );
    expect(info).toMatchObject({ sub: user.id, email: user.input.email });
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      rp,
      await oauth.refreshTokenGrantRequest(as, rp, auth, tokens.refresh_token as string, options),
    );
    expect(refreshed.refresh_token).toBeTruthy();
    const live = await oauth.processIntrospectionResponse(
      as,
      rp,
      await oauth.introspectionRequest(as, rp, auth, refreshed.access_token, options),
    );
    expect(live).toMatchObject({ active: true, client_id: app.clientId, sub: user.id });
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, rp, auth, refreshed.refresh_token as string, options),
    );
    const dead = await oauth.processIntrospectionResponse(
      as,
      rp,
      await oauth.introspectionRequest(as, rp, auth, refreshed.access_token, options),
    );
    expect(dead.active).toBe(false);
  });

  it("reads an invalid_grant as the RFC error it is", async () => {
    const as = await oauth.processDiscoveryResponse(
      new URL(ISSUER),
      await oauth.discoveryRequest(new URL(ISSUER), { ...options, algorithm: "oidc" }),
    );
    const app = await client();
    const rp: oauth.Client = { client_id: app.clientId };
    const error = await oauth
      .processRefreshTokenResponse(
        as,
        rp,
        await oauth.refreshTokenGrantRequest(as, rp, oauth.None(), "not-a-token", options),
      )
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect((error as oauth.ResponseBodyError).error).toBe("invalid_grant");
  });
});

describe("review of the token side (issue 25)", () => {
  it("an id_token is no access token of the API's: refused at /welcome and /me", async () => {
    const { tokens } = await grant({ scope: "email openid profile" });
    const idToken = tokens.id_token as string;
    expect((await call("/welcome", { headers: bearer(idToken) }, settings)).status).toBe(401);
    expect((await call("/me", { headers: bearer(idToken) }, settings)).status).toBe(401);
    expect((await call("/oauth/userinfo", { headers: bearer(idToken) }, settings)).status).toBe(401);
  });

  it("a second use landing before the first started its grant still ends that grant as it starts", async () => {
    const user = await person();
    const app = await client();
    const minted = await code(user.id, app.clientId);
    // The first use has consumed the code and not yet inserted its grant...
    await consumeSingleUse(db, (await singleUseHash(minted.code)) as string, "oauth_code", new Date());
    // ...when the second use lands: refused, and it finds nothing to revoke yet.
    expect(await oauthError(await exchange(minted, app.clientId))).toBe("invalid_grant");
    // The first use now starts its grant: born revoked, and it is told so.
    const started = await startGrant(
      ctx(),
      {
        userId: user.id,
        clientId: app.clientId,
        scope: "openid",
        resource: null,
        authTime: new Date(),
        codeId: minted.id,
        amr: ["pwd"],
      },
      true,
    );
    expect(started.reused).toBe(true);
    const live = await env.DB.prepare("select count(*) as n from sessions where code_id = ? and revoked_at is null")
      .bind(minted.id)
      .first<{ n: number }>();
    expect(live?.n).toBe(0);
    const events = await env.DB.prepare("select count(*) as n from audit_events where user_id = ? and type = ?")
      .bind(user.id, "oauth_code_reused")
      .first<{ n: number }>();
    expect(events?.n).toBe(1);
  });

  it("introspection describes a refresh token only to the client it was issued to", async () => {
    const rs = await client({ type: "confidential" });
    const { tokens } = await grant({ scope: "email openid" });
    const other = await post(
      "/oauth/introspect",
      { token: tokens.refresh_token as string },
      basic(rs.clientId, rs.secret as string),
    );
    expect(await other.json()).toEqual({ active: false });
  });

  it("never lets a cache keep a person's claims or an error: no-store and Pragma on userinfo and on token errors", async () => {
    const { tokens } = await grant({ scope: "email openid" });
    const info = await call("/oauth/userinfo", { headers: bearer(tokens.access_token) }, settings);
    expect(info.status).toBe(200);
    expect(info.headers.get("cache-control")).toBe("no-store");
    expect(info.headers.get("pragma")).toBe("no-cache");
    const refused = await token({ grant_type: "authorization_code", code: "nope", client_id: "nobody" });
    expect(refused.headers.get("cache-control")).toBe("no-store");
    expect(refused.headers.get("pragma")).toBe("no-cache");
    const reshaped = await call(
      "/oauth/token",
      { method: "POST", body: "{}", headers: { "content-type": "application/json" } },
      settings,
    );
    expect(reshaped.headers.get("pragma")).toBe("no-cache");
  });

  it("lets a browser MCP client send MCP-Protocol-Version to discovery and the token endpoint", async () => {
    const origin = { Origin: "https://elsewhere.example" };
    for (const path of ["/.well-known/oauth-authorization-server", "/oauth/token"]) {
      const preflight = await call(
        path,
        {
          method: "OPTIONS",
          headers: {
            ...origin,
            "Access-Control-Request-Method": path === "/oauth/token" ? "POST" : "GET",
            "Access-Control-Request-Headers": "mcp-protocol-version",
          },
        },
        settings,
      );
      expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("mcp-protocol-version");
    }
  });

  it("a client_credentials token stops being active once its client is deleted", async () => {
    const rs = await client({ type: "confidential" });
    const machine = await client({ type: "confidential", grantTypes: ["client_credentials"], scope: "mcp" });
    const issued = (await (
      await token({ grant_type: "client_credentials" }, basic(machine.clientId, machine.secret as string))
    ).json()) as Tokens;
    const auth = basic(rs.clientId, rs.secret as string);
    expect(await (await post("/oauth/introspect", { token: issued.access_token }, auth)).json()).toMatchObject({
      active: true,
      client_id: machine.clientId,
    });
    await env.DB.prepare("delete from oauth_clients where client_id = ?").bind(machine.clientId).run();
    expect(await (await post("/oauth/introspect", { token: issued.access_token }, auth)).json()).toEqual({
      active: false,
    });
  });

  it("a code retired by an account event is invalid_grant, and no reuse is audited", async () => {
    const user = await person();
    const app = await client();
    const minted = await code(user.id, app.clientId);
    await env.DB.prepare("update single_use_tokens set used_at = ? where id = ?").bind(Date.now(), minted.id).run();
    const refused = await exchange(minted, app.clientId);
    expect(await oauthError(refused)).toBe("invalid_grant");
    const events = await env.DB.prepare("select count(*) as n from audit_events where user_id = ? and type = ?")
      .bind(user.id, "oauth_code_reused")
      .first<{ n: number }>();
    expect(events?.n).toBe(0);
  });
});
