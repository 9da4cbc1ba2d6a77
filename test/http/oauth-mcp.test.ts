import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { auth, type OAuthClientProvider, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type McpExample, startMcpExample } from "../support/mcp-example";
import { type Account, registered } from "../support/oauth-accounts";
import { OAuthBrowser } from "../support/oauth-browser";
import { type Running, stopAll } from "../support/processes";

// The provider as an MCP client meets it: the MCP SDK's own `auth()` flow (RFC 9728 resource
// metadata from the 401, RFC 8414 discovery, dynamic registration or a client ID metadata
// document, authorization with PKCE and `resource`, the token and a refresh) against `oauth`,
// with examples/mcp-server (started the README's way, trusting `oauth` and listed in its
// OAUTH_RESOURCES) as the protected resource; then the SDK's MCP `Client` calls `whoami` there
// with the token. The login and consent pages are driven by test/support/oauth-browser.ts.
const { oauth, mcpPort } = inject("servers");
const running: Running[] = [];
let example: McpExample | undefined;
let ada: Account;
let browser: OAuthBrowser;

beforeAll(async () => {
  example = await startMcpExample(running, { issuer: oauth, port: mcpPort });
  ada = await registered(oauth, "ada");
  browser = new OAuthBrowser(oauth);
}, 120_000);

afterAll(async () => {
  await stopAll(running);
  example?.cleanUp();
});

/** What the SDK asked of the network, as `METHOD url [grant_type resource]`. */
type Logged = { method: string; url: string; body?: URLSearchParams | Record<string, unknown> };

/** An MCP client's OAuth side, headless: keeps what the SDK saves, and "opens the browser"
 * by running the authorization URL through the HTTP browser as ada. */
class HeadlessProvider implements OAuthClientProvider {
  readonly redirectUrl = "http://127.0.0.1:1/callback";
  readonly log: Logged[] = [];
  authorizationUrl: URL | undefined;
  code: string | undefined;
  private saved: { client?: OAuthClientInformationMixed; tokens?: OAuthTokens; verifier?: string; state?: string } = {};

  constructor(client?: OAuthClientInformationMixed) {
    this.saved.client = client;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "MCP SDK test client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(client: OAuthClientInformationMixed) {
    this.saved.client = client;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved.tokens = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return String(this.saved.verifier);
  }
  state() {
    this.saved.state = crypto.randomUUID();
    return this.saved.state;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
    const back = await browser.authorize(url, ada);
    expect(back.searchParams.get("state")).toBe(this.saved.state);
    expect(back.searchParams.get("iss")).toBe(oauth);
    this.code = back.searchParams.get("code") ?? undefined;
    if (!this.code) throw new Error(`no code: ${back.href}`);
  }

  /** A fetch that notes every request the SDK makes. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    const text = request.method === "POST" ? await request.clone().text() : "";
    const type = request.headers.get("content-type") ?? "";
    const body = type.includes("x-www-form-urlencoded")
      ? new URLSearchParams(text)
      : type.includes("json") && text
        ? (JSON.parse(text) as Record<string, unknown>)
        : undefined;
    this.log.push({ method: request.method, url: request.url, body });
    return fetch(request);
  };

  tokenRequests() {
    return this.log
      .filter((entry) => entry.url === `${oauth}/oauth/token`)
      .map((entry) => entry.body as URLSearchParams);
  }
}

/** Connects the SDK's MCP client to the example with `provider`'s token and calls whoami. */
async function whoami(provider: HeadlessProvider) {
  const resource = String(example?.resource);
  const client = new Client({ name: "oauth-mcp-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }));
  const result = await client.callTool({ name: "whoami", arguments: {} });
  await client.close();
  expect(result.isError).toBeFalsy();
  return result.structuredContent as { sub: string; scopes: string[]; client_id: string };
}

/** The whole flow from an MCP client's first, tokenless request to `whoami`. */
async function signInThroughTheSdk(provider: HeadlessProvider) {
  const resource = String(example?.resource);
  const transport = new StreamableHTTPClientTransport(new URL(resource), {
    authProvider: provider,
    fetch: provider.fetch,
  });
  const first = new Client({ name: "oauth-mcp-test", version: "1.0.0" });
  await expect(first.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
  await transport.finishAuth(String(provider.code));

  // The authorization request: PKCE S256, the resource, the PRM's scope.
  const asked = provider.authorizationUrl?.searchParams;
  expect(asked?.get("code_challenge_method")).toBe("S256");
  expect(asked?.get("resource")).toBe(resource);
  expect(asked?.get("scope")).toBe("mcp");
  // The code exchange carried the same resource; the token is for it.
  const [exchange] = provider.tokenRequests();
  expect(exchange?.get("grant_type")).toBe("authorization_code");
  expect(exchange?.get("resource")).toBe(resource);
  const tokens = provider.tokens();
  expect(tokens?.token_type.toLowerCase()).toBe("bearer");
  expect(decodeProtectedHeader(String(tokens?.access_token)).typ).toBe("at+jwt");
  const claims = decodeJwt(String(tokens?.access_token));
  expect(claims).toMatchObject({ iss: oauth, aud: resource, sub: ada.id });
  expect(String(claims.scope).split(" ")).toContain("mcp");

  const me = await whoami(provider);
  expect(me.sub).toBe(ada.id);
  expect(me.scopes).toContain("mcp");
  expect(me.client_id).toBe(provider.clientInformation()?.client_id);

  // Later: auth() again with the stored refresh token, as the SDK does when the token ages.
  const before = tokens?.access_token;
  expect(tokens?.refresh_token).toEqual(expect.any(String));
  expect(await auth(provider, { serverUrl: resource, fetchFn: provider.fetch })).toBe("AUTHORIZED");
  const refresh = provider.tokenRequests().at(-1);
  expect(refresh?.get("grant_type")).toBe("refresh_token");
  expect(refresh?.get("resource")).toBe(resource);
  expect(provider.tokens()?.access_token).not.toBe(before);
  expect((await whoami(provider)).sub).toBe(ada.id);
}

describe("the MCP SDK's client against the provider and examples/mcp-server", () => {
  it("discovers, registers dynamically, authorizes with PKCE and resource, refreshes, then calls whoami", async () => {
    const provider = new HeadlessProvider();
    await signInThroughTheSdk(provider);
    const registration = provider.log.find((entry) => entry.url === `${oauth}/oauth/register`);
    expect(registration?.method).toBe("POST");
    expect(provider.log.map((entry) => `${entry.method} ${new URL(entry.url).pathname}`)).toEqual(
      expect.arrayContaining([
        "GET /.well-known/oauth-protected-resource/mcp",
        "GET /.well-known/oauth-authorization-server",
        "POST /oauth/register",
        "POST /oauth/token",
      ]),
    );
  }, 90_000);

  describe("with a client ID metadata document", () => {
    let server: Server;
    let documentUrl: string;
    let fetched = 0;

    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url !== "/oauth/client.json") {
          res.writeHead(404).end();
          return;
        }
        fetched++;
        res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=300" });
        res.end(
          JSON.stringify({
            client_id: documentUrl,
            client_name: "MCP SDK test client (metadata document)",
            redirect_uris: ["http://127.0.0.1:1/callback"],
            grant_types: ["authorization_code", "refresh_token"],
            response_types: ["code"],
            token_endpoint_auth_method: "none",
          }),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      documentUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/client.json`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    it("uses the document's URL as client_id (no registration), then the same flow to whoami", async () => {
      const metadata = (await (await fetch(`${oauth}/.well-known/oauth-authorization-server`)).json()) as Record<
        string,
        unknown
      >;
      expect(metadata.client_id_metadata_document_supported).toBe(true);
      // The SDK 1.32 takes a metadata document only at an https URL (its clientMetadataUrl);
      // the provider accepts http://127.0.0.1 ones in dev and test, so the test hands the SDK
      // the client_id it would have sent: the document's URL.
      const provider = new HeadlessProvider({ client_id: documentUrl });
      await signInThroughTheSdk(provider);
      expect(provider.log.some((entry) => entry.url === `${oauth}/oauth/register`)).toBe(false);
      expect(provider.authorizationUrl?.searchParams.get("client_id")).toBe(documentUrl);
      expect(fetched).toBeGreaterThanOrEqual(1);
    }, 90_000);
  });
});
