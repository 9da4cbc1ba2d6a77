import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerClient } from "@modelcontextprotocol/sdk/client/auth.js";
import { ServerError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startDev, stopAll } from "../support/processes";

// POST /oauth/register (RFC 7591) over real HTTP against `npm run dev` with the provider
// on and registration open, called by the MCP SDK's own registerClient: what only a real
// server shows (the wire format the SDK's schema parses, CORS preflights, the per-IP limit
// of a real rate-limit binding). docs/oauth-clients.md.

const running: Running[] = [];
let dir = "";
let api = "";

const address = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 250) + 1).join(".")}`;

beforeAll(async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = { ...(await crypto.subtle.exportKey("jwk", pair.privateKey)), kid: "http-oauth" };
  dir = mkdtempSync(join(tmpdir(), "edge-auth-oauth-"));
  const vars = {
    JWT_ALG: "ES256",
    JWT_PRIVATE_KEYS: JSON.stringify([jwk]),
    OAUTH_PROVIDER: "true",
    OAUTH_DYNAMIC_REGISTRATION: "true",
    OAUTH_SCOPES: "mcp",
    CORS_ORIGINS: "https://app.example.com",
  };
  const flags = ["--no-local-idp", ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`])];
  api = (await startDev(running, "npm run dev (OAuth registration)", dir, flags)).url;
}, 180_000);

afterAll(async () => {
  await stopAll(running);
  rmSync(dir, { recursive: true, force: true });
});

/** The SDK's fetches, each from its own client address (the per-IP limit is tested below). */
const fetchFn = (url: string | URL, init?: RequestInit) =>
  fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), "cf-connecting-ip": address() } });

const clientMetadata = {
  client_name: "test",
  redirect_uris: ["http://localhost:1/cb"],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
};

function metadata() {
  return {
    issuer: api,
    authorization_endpoint: `${api}/oauth/authorize`,
    token_endpoint: `${api}/oauth/token`,
    registration_endpoint: `${api}/oauth/register`,
    response_types_supported: ["code"],
  };
}

describe("POST /oauth/register over HTTP (npm run dev)", () => {
  it("registers the MCP SDK's client: its schema parses our 201 (client_id and redirect_uris)", async () => {
    const info = await registerClient(api, { metadata: metadata(), clientMetadata, scope: "mcp", fetchFn });
    expect(info).toMatchObject({
      client_id: expect.stringMatching(/^[\w-]{22}$/),
      redirect_uris: ["http://localhost:1/cb"],
      token_endpoint_auth_method: "none",
      scope: "mcp",
    });
    expect(info.client_secret).toBeUndefined();
  });

  it("answers a refusal the SDK reads as an OAuth error, not 'Invalid OAuth error response'", async () => {
    const refused = registerClient(api, {
      metadata: metadata(),
      clientMetadata: { ...clientMetadata, redirect_uris: ["http://evil.example.com/cb"] },
      fetchFn,
    });
    // The SDK has no class of its own for invalid_redirect_uri: it keeps our description.
    await expect(refused).rejects.toBeInstanceOf(ServerError);
    await expect(refused).rejects.toThrow(/^redirect URI "http:\/\/evil\.example\.com\/cb" must use https/);
  });

  it("answers any origin's preflight without credentials, though CORS_ORIGINS is a list", async () => {
    const res = await fetch(`${api}/oauth/register`, {
      method: "OPTIONS",
      headers: {
        origin: "https://claude.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("limits registrations per IP with a 429 in the RFC shape", async () => {
    const ip = address();
    let last: Response | undefined;
    // 100 a minute; a wall-clock minute may turn during the loop, hence room for two windows.
    for (let i = 0; i < 201; i++) {
      last = await fetch(`${api}/oauth/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": ip },
        body: JSON.stringify(clientMetadata),
      });
      if (last.status === 429) break;
      expect(last.status).toBe(201);
      await last.arrayBuffer();
    }
    expect(last?.status).toBe(429);
    expect(last?.headers.get("retry-after")).toBe("60");
    expect(await last?.json()).toEqual({ error: "temporarily_unavailable", error_description: expect.any(String) });
  });
});
