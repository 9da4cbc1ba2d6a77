import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/platform/crypto";
import { oauthClients } from "../src/platform/schema-oauth";
import { call, type Json, randomAddress } from "./helpers";
import { OAUTH_ON } from "./oauth-env";

// POST /oauth/register: dynamic client registration (RFC 7591), as the MCP SDK uses it.

const db = drizzle(env.DB);

/** What the MCP SDK 1.32 sends (/work/notes/oidc-research.md §4): its clientMetadata plus
 * the protected resource's scopes. */
const MCP_SDK_BODY = {
  client_name: "test",
  redirect_uris: ["http://localhost:1/cb"],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
  scope: "mcp",
};

function register(body: unknown, init: { headers?: Record<string, string>; overrides?: Json } = {}) {
  return call(
    "/oauth/register",
    {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": randomAddress(), ...init.headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    },
    { ...OAUTH_ON, ...(init.overrides as Partial<Cloudflare.Env>) },
  );
}

async function clientCount() {
  return (await env.DB.prepare("select count(*) as n from oauth_clients").first<{ n: number }>())?.n ?? 0;
}

/** Asserts the RFC 7591 §3.2.2 error shape and returns it. */
async function oauthErrorOf(res: Response) {
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const body = (await res.json()) as Json;
  expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
  return body as { error: string; error_description: string };
}

describe("POST /oauth/register", () => {
  it("registers the MCP SDK's public client and echoes every registered field, redirect_uris included", async () => {
    const res = await register(MCP_SDK_BODY);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Json & { client_id: string };
    expect(body).toEqual({
      client_id: expect.stringMatching(/^[\w-]{22}$/),
      client_id_issued_at: expect.any(Number),
      client_name: "test",
      redirect_uris: ["http://localhost:1/cb"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: "mcp",
    });
    expect(Math.abs((body.client_id_issued_at as number) - Date.now() / 1000)).toBeLessThan(60);
    const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id));
    expect(row).toMatchObject({
      registration: "dynamic",
      type: "public",
      secretHash: null,
      tokenEndpointAuthMethod: "none",
      scope: "mcp",
      firstParty: false,
      lastUsedAt: null,
    });
  });

  it("registers a confidential client by default (client_secret_basic), with a secret that never expires", async () => {
    const res = await register({ redirect_uris: ["https://rp.example.com/cb"] });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json & { client_id: string; client_secret: string };
    expect(body).toMatchObject({
      token_endpoint_auth_method: "client_secret_basic",
      client_secret_expires_at: 0,
      client_name: "rp.example.com",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    });
    expect(body).not.toHaveProperty("scope");
    expect(body.client_secret).toMatch(/^[\w-]{43}$/);
    const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id));
    expect(row?.type).toBe("confidential");
    expect(row?.secretHash).toBe(await sha256Hex(body.client_secret));
  });

  it("keeps client_secret_post, the descriptive metadata (inert), and ignores anything else", async () => {
    const res = await register({
      redirect_uris: ["https://rp.example.com/cb"],
      token_endpoint_auth_method: "client_secret_post",
      client_name: "Bad\u0007Name\u202e",
      client_uri: "https://rp.example.com",
      logo_uri: "https://rp.example.com/logo.png",
      tos_uri: "https://rp.example.com/tos",
      policy_uri: "https://rp.example.com/privacy",
      contacts: ["ops@rp.example.com"],
      software_id: "rp\u001b[31m",
      software_version: "1.2.3",
      jwks_uri: "https://rp.example.com/jwks",
      application_type: "web",
      first_party: true,
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json & { client_id: string };
    expect(body).toMatchObject({
      token_endpoint_auth_method: "client_secret_post",
      client_name: "Bad\\u{7}Name\\u{202E}",
      client_uri: "https://rp.example.com",
      logo_uri: "https://rp.example.com/logo.png",
      tos_uri: "https://rp.example.com/tos",
      policy_uri: "https://rp.example.com/privacy",
      contacts: ["ops@rp.example.com"],
      software_id: "rp\\u{1B}[31m",
      software_version: "1.2.3",
    });
    for (const ignored of ["jwks_uri", "application_type", "first_party"]) expect(body).not.toHaveProperty(ignored);
    const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id));
    expect(row?.firstParty).toBe(false);
  });

  it.each([
    ["no redirect_uris", { redirect_uris: undefined }, "invalid_redirect_uri"],
    ["an empty redirect_uris", { redirect_uris: [] }, "invalid_redirect_uri"],
    ["a plain-http redirect URI", { redirect_uris: ["http://rp.example.com/cb"] }, "invalid_redirect_uri"],
    ["a redirect URI with a fragment", { redirect_uris: ["https://rp.example.com/cb#f"] }, "invalid_redirect_uri"],
    ["a custom-scheme redirect URI", { redirect_uris: ["myapp://cb"] }, "invalid_redirect_uri"],
    ["redirect_uris that is a string", { redirect_uris: "https://rp.example.com/cb" }, "invalid_redirect_uri"],
    ["an unknown auth method", { token_endpoint_auth_method: "private_key_jwt" }, "invalid_client_metadata"],
    [
      "client_credentials",
      { grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic" },
      "invalid_client_metadata",
    ],
    ["the implicit grant", { grant_types: ["implicit"] }, "invalid_client_metadata"],
    ["response_types token", { response_types: ["token"] }, "invalid_client_metadata"],
    ["an unsupported scope", { scope: "openid admin" }, "invalid_client_metadata"],
    ["a scope that is not a string", { scope: ["openid"] }, "invalid_client_metadata"],
    ["a client_uri on plain http", { client_uri: "http://rp.example.com" }, "invalid_client_metadata"],
    ["a logo_uri that is not a URL", { logo_uri: "javascript:alert(1)" }, "invalid_client_metadata"],
    ["contacts that are not strings", { contacts: [1] }, "invalid_client_metadata"],
    ["a client_name that is not a string", { client_name: 42 }, "invalid_client_metadata"],
    ["a software_id that is not a string", { software_id: {} }, "invalid_client_metadata"],
  ])("refuses %s in the RFC shape (400 %s) and stores nothing", async (_label, change, error) => {
    const before = await clientCount();
    const res = await register({ ...MCP_SDK_BODY, ...change });
    expect(res.status).toBe(400);
    expect((await oauthErrorOf(res)).error).toBe(error);
    expect(await clientCount()).toBe(before);
  });

  it.each([
    ["not JSON", "client_name=x", "application/x-www-form-urlencoded"],
    ["malformed JSON", '{"redirect_uris": [', "application/json"],
    ["a JSON array", "[]", "application/json"],
    ["an empty body", "", "application/json"],
  ])("refuses a body that is %s with 400 invalid_client_metadata", async (_label, body, type) => {
    const res = await register(body, { headers: { "content-type": type } });
    expect(res.status).toBe(400);
    expect((await oauthErrorOf(res)).error).toBe("invalid_client_metadata");
  });

  it.each([
    ["OAUTH_DYNAMIC_REGISTRATION is off", { OAUTH_DYNAMIC_REGISTRATION: "false" }],
    ["the provider is off", { OAUTH_PROVIDER: "false" }],
  ])("is 404 in the RFC shape when %s", async (_label, overrides) => {
    const before = await clientCount();
    const res = await register(MCP_SDK_BODY, { overrides });
    expect(res.status).toBe(404);
    expect((await oauthErrorOf(res)).error).toBe("invalid_request");
    expect(await clientCount()).toBe(before);
  });

  it("is limited per IP: past 100 a minute, 429 temporarily_unavailable in the RFC shape with Retry-After", async () => {
    const ip = randomAddress();
    let last: Response | undefined;
    // Local limits follow wall-clock minutes: up to 201 requests fill one window.
    for (let i = 0; i < 201; i++) {
      last = await register(MCP_SDK_BODY, { headers: { "cf-connecting-ip": ip } });
      if (last.status === 429) break;
      expect(last.status).toBe(201);
    }
    expect(last?.status).toBe(429);
    expect(last?.headers.get("retry-after")).toBe("60");
    expect((await oauthErrorOf(last as Response)).error).toBe("temporarily_unavailable");
  });

  it("answers any origin's preflight and request without credentials, even with a CORS_ORIGINS list", async () => {
    const overrides = { CORS_ORIGINS: "https://app.example.com", CORS_CREDENTIALS: "true" };
    const preflight = await call(
      "/oauth/register",
      {
        method: "OPTIONS",
        headers: {
          origin: "https://claude.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      },
      { ...OAUTH_ON, ...overrides } as Partial<Cloudflare.Env>,
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("content-type");
    const res = await register(MCP_SDK_BODY, { headers: { origin: "https://claude.example" }, overrides });
    expect(res.status).toBe(201);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });
});

describe("POST /oauth/register with the MCP SDK's own client (registerClient)", () => {
  /** The SDK's fetches, answered by the app with the provider on. */
  const fetchFn = (url: string | URL, init?: RequestInit) =>
    call(
      String(url),
      { ...init, headers: { ...(init?.headers as Record<string, string>), "cf-connecting-ip": randomAddress() } },
      OAUTH_ON,
    );
  const metadata = {
    issuer: "http://localhost:8787",
    authorization_endpoint: "http://localhost:8787/oauth/authorize",
    token_endpoint: "http://localhost:8787/oauth/token",
    registration_endpoint: "http://localhost:8787/oauth/register",
    response_types_supported: ["code"],
  };
  const clientMetadata = {
    client_name: "test",
    redirect_uris: ["http://localhost:1/cb"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };

  it("parses our answer with its schema: client_id and redirect_uris", async () => {
    const { registerClient } = await import("@modelcontextprotocol/sdk/client/auth.js");
    const info = await registerClient("http://localhost:8787", { metadata, clientMetadata, scope: "mcp", fetchFn });
    expect(info.client_id).toMatch(/^[\w-]{22}$/);
    expect(info.redirect_uris).toEqual(["http://localhost:1/cb"]);
    expect(info.scope).toBe("mcp");
  });

  it("reads our refusals as typed OAuth errors, not 'Invalid OAuth error response'", async () => {
    const { registerClient } = await import("@modelcontextprotocol/sdk/client/auth.js");
    const { InvalidClientMetadataError } = await import("@modelcontextprotocol/sdk/server/auth/errors.js");
    const refused = registerClient("http://localhost:8787", {
      metadata,
      clientMetadata,
      scope: "not-a-scope",
      fetchFn,
    });
    await expect(refused).rejects.toBeInstanceOf(InvalidClientMetadataError);
    await expect(refused).rejects.toThrow(/not-a-scope/);
  });
});
