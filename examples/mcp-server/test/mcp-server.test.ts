// The example MCP server under `wrangler dev` (real workerd), started the README's way, with a
// stand-in issuer in this process: its JWKS, its RFC 8414 metadata and tokens signed here.
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type McpExample, startMcpExample } from "../../../test/support/mcp-example";
import { freePort, type Running, stopAll } from "../../../test/support/processes";
import { startTestIssuer, type TestIssuer } from "../../../test/support/test-issuer";

let issuer: TestIssuer;
let example: McpExample | undefined;
let resource: string;
let metadata: string;
const running: Running[] = [];

beforeAll(async () => {
  // The port first: the issuer's tokens name the resource in aud.
  const port = await freePort();
  issuer = await startTestIssuer({ resource: `http://127.0.0.1:${port}/mcp` });
  example = await startMcpExample(running, { issuer: issuer.url, port });
  ({ resource, metadata } = example);
});

afterAll(async () => {
  await stopAll(running);
  example?.cleanUp();
  await issuer?.close();
});

/** An MCP `initialize` request, raw, with `token` as Bearer when given. */
function post(token?: string, headers: Record<string, string> = {}) {
  return fetch(resource, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    }),
  });
}

const now = () => Math.floor(Date.now() / 1000);

describe("with a good token", () => {
  test("the MCP SDK's client lists whoami and calls it: the token's subject, scopes and client", async () => {
    const token = await issuer.sign({ sub: "ada", client_id: "cli-1", scope: "openid mcp" });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(resource), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["whoami"]);
    const result = await client.callTool({ name: "whoami", arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ sub: "ada", scopes: ["openid", "mcp"], client_id: "cli-1" });
    await client.close();
  });

  test("GET and DELETE /mcp are 405: a stateless server has no stream to open and no session to end", async () => {
    const authorization = `Bearer ${await issuer.sign()}`;
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(resource, { method, headers: { authorization, accept: "text/event-stream" } });
      expect([method, res.status, res.headers.get("allow")]).toEqual([method, 405, "POST"]);
    }
  });
});

describe("without a token", () => {
  test("POST /mcp is 401 with a bare challenge pointing at the path-aware metadata, readable cross-origin", async () => {
    const res = await post(undefined, { origin: "http://localhost:5173" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${metadata}"`);
    expect(res.headers.get("access-control-expose-headers")).toBe("WWW-Authenticate");
  });

  test("the metadata names the resource, the issuer, the scope and header tokens", async () => {
    const res = await fetch(metadata);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(await res.json()).toEqual({
      resource,
      authorization_servers: [issuer.url],
      scopes_supported: ["mcp"],
      bearer_methods_supported: ["header"],
      resource_name: "edge-auth-api MCP example",
    });
  });

  test("the MCP SDK's auth() follows the challenge to the metadata and the issuer, up to the authorization step", async () => {
    const seen: string[] = [];
    const logged: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      seen.push(`${init?.method ?? "GET"} ${String(input)} ${res.status}`);
      return res;
    };
    const provider = new StopAtAuthorization();
    const client = new Client({ name: "test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider, fetch: logged });
    await expect(client.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);

    expect(seen).toEqual([
      `POST ${resource} 401`,
      `GET ${metadata} 200`,
      `GET ${issuer.url}/.well-known/oauth-authorization-server 200`,
    ]);
    const url = provider.authorizationUrl;
    expect(url?.origin + (url?.pathname ?? "")).toBe(`${issuer.url}/oauth/authorize`);
    expect(Object.fromEntries(url?.searchParams ?? [])).toMatchObject({
      response_type: "code",
      client_id: "pre-registered",
      code_challenge_method: "S256",
      scope: "mcp",
      resource,
    });
  });
});

describe("refused tokens", () => {
  const cases: [string, () => Promise<string>][] = [
    ["an expired token", () => issuer.sign({ exp: now() - 120 })],
    ["a token for another resource", () => issuer.sign({ aud: "http://127.0.0.1:1/mcp" })],
    ["a token from another issuer", () => issuer.sign({ iss: "http://localhost:8787" })],
    ["the API's own kind of token (typ JWT)", () => issuer.sign({}, { typ: "JWT" })],
    [
      "a token signed by a key the issuer never published",
      async () => issuer.sign({}, { kid: await issuer.addKey({ publish: false }) }),
    ],
    ["alg none", () => issuer.sign({}, { alg: "none" })],
    ["HS256 keyed with the public key (algorithm confusion)", () => issuer.sign({}, { alg: "HS256" })],
    [
      "an EdDSA token when JWT_ALG is ES256",
      async () => issuer.sign({}, { kid: await issuer.addKey({ alg: "EdDSA" }) }),
    ],
  ];
  test.each(cases)("%s is 401 invalid_token", async (_name, make) => {
    const res = await post(await make());
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(
      new RegExp(`^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="${metadata}"$`),
    );
  });

  test("a token without the mcp scope is 403 insufficient_scope naming it", async () => {
    const res = await post(await issuer.sign({ scope: "openid profile" }));
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toMatch(
      new RegExp(
        `^Bearer error="insufficient_scope", error_description="[^"]+", scope="mcp", resource_metadata="${metadata}"$`,
      ),
    );
  });

  test("a key the issuer starts publishing is accepted once the cached key set is refetched (rotation)", {
    timeout: 60_000,
  }, async () => {
    expect((await post(await issuer.sign())).status).toBe(200);
    const fetched = issuer.requests.filter((path) => path.endsWith("jwks.json")).length;
    const next = await issuer.addKey({ publish: false });
    issuer.publish(next);
    const rotated = await issuer.sign({}, { kid: next });
    // Refused while the isolate's key set cools down (30 s after its last fetch), then one
    // refetch brings the new key.
    const deadline = Date.now() + 45_000;
    let status = (await post(rotated)).status;
    while (status !== 200 && Date.now() < deadline) {
      expect(status).toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      status = (await post(rotated)).status;
    }
    expect(status).toBe(200);
    expect(issuer.requests.filter((path) => path.endsWith("jwks.json")).length).toBeGreaterThan(fetched);
  });
});

/** A client already registered with the issuer, which records where it would send the user
 * instead of going there: the provider that would answer does not exist yet. */
class StopAtAuthorization implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  get redirectUrl() {
    return "http://127.0.0.1:1/callback";
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "test", redirect_uris: [this.redirectUrl], token_endpoint_auth_method: "none" };
  }
  clientInformation(): OAuthClientInformationMixed {
    return { client_id: "pre-registered" };
  }
  tokens() {
    return undefined;
  }
  saveTokens() {}
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier() {}
  codeVerifier() {
    return "unused";
  }
}
