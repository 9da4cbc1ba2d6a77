import { type Context, Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestIssuer, type TestIssuer } from "../../../test/support/test-issuer";
import { protectedResourceMetadataRoute, requireAccessToken } from "../src/hono";
import {
  AccessTokenError,
  challenge,
  errorResponse,
  metadataResponse,
  metadataUrl,
  protectedResourceMetadata,
  type ResourceOptions,
} from "../src/index";

const RESOURCE = "https://mcp.example.com/mcp";
const METADATA = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
const options: ResourceOptions = {
  issuer: "https://id.example.com/",
  resource: RESOURCE,
  scopes: ["mcp"],
  scopesSupported: ["mcp", "mcp:admin"],
  resourceName: "Example MCP server",
};

describe("metadataUrl", () => {
  test.each([
    ["https://mcp.example.com/mcp", METADATA],
    ["https://mcp.example.com", "https://mcp.example.com/.well-known/oauth-protected-resource"],
    ["https://mcp.example.com/", "https://mcp.example.com/.well-known/oauth-protected-resource"],
    ["https://api.example.com/v1/mcp/", "https://api.example.com/.well-known/oauth-protected-resource/v1/mcp/"],
    ["http://localhost:8788/mcp?t=1", "http://localhost:8788/.well-known/oauth-protected-resource/mcp?t=1"],
  ])("%s has its document at %s (RFC 9728 §3.1)", (resource, expected) => {
    expect(metadataUrl(resource).href).toBe(expected);
  });
});

describe("protectedResourceMetadata", () => {
  test("names the resource, the issuer as its one authorization server, the scopes and header bearer tokens", () => {
    expect(protectedResourceMetadata(options)).toEqual({
      resource: RESOURCE,
      authorization_servers: ["https://id.example.com"],
      scopes_supported: ["mcp", "mcp:admin"],
      bearer_methods_supported: ["header"],
      resource_name: "Example MCP server",
    });
  });

  test("leaves out scopes_supported and resource_name when there are none", () => {
    expect(protectedResourceMetadata({ issuer: "https://id.example.com", resource: RESOURCE })).toEqual({
      resource: RESOURCE,
      authorization_servers: ["https://id.example.com"],
      bearer_methods_supported: ["header"],
    });
  });
});

describe("metadataResponse", () => {
  test("answers GET at the path-aware URL on any host, public, cacheable and CORS *", async () => {
    const res = metadataResponse(new Request("http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp"), options);
    expect(res?.status).toBe(200);
    expect(res?.headers.get("access-control-allow-origin")).toBe("*");
    expect(res?.headers.get("cache-control")).toBe("public, max-age=300");
    expect(await res?.json()).toEqual(protectedResourceMetadata(options));
  });

  test("answers a preflight, refuses other methods and lets other paths through", () => {
    const preflight = metadataResponse(new Request(METADATA, { method: "OPTIONS" }), options);
    expect(preflight?.status).toBe(204);
    expect(preflight?.headers.get("access-control-allow-origin")).toBe("*");
    expect(metadataResponse(new Request(METADATA, { method: "POST" }), options)?.status).toBe(405);
    expect(metadataResponse(new Request("https://mcp.example.com/.well-known/oauth-protected-resource"), options)).toBe(
      undefined,
    );
    expect(metadataResponse(new Request("https://mcp.example.com/mcp"), options)).toBe(undefined);
  });
});

describe("challenge", () => {
  test("is bare resource_metadata when no token was sent", () => {
    expect(challenge({ resourceMetadata: METADATA })).toBe(`Bearer resource_metadata="${METADATA}"`);
  });

  test("writes error, description, scope and resource_metadata as quoted strings", () => {
    expect(
      challenge({
        realm: "mcp",
        error: "insufficient_scope",
        errorDescription: 'Needs "mcp" \\ now',
        scope: ["mcp", "mcp:admin"],
        resourceMetadata: new URL(METADATA),
      }),
    ).toBe(
      `Bearer realm="mcp", error="insufficient_scope", error_description="Needs mcp  now", scope="mcp mcp:admin", resource_metadata="${METADATA}"`,
    );
  });
});

describe("errorResponse", () => {
  test("401 without a token: a challenge without error, pointing at the metadata", async () => {
    const res = errorResponse(new AccessTokenError("missing", "This resource needs an access token."), options);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${METADATA}"`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({
      error: "unauthorized",
      error_description: "This resource needs an access token.",
    });
  });

  test("401 invalid_token and 403 insufficient_scope carry their error, and the scope for 403", () => {
    const expired = errorResponse(new AccessTokenError("expired", "The access token expired."), options);
    expect(expired.headers.get("www-authenticate")).toBe(
      `Bearer error="invalid_token", error_description="The access token expired.", resource_metadata="${METADATA}"`,
    );
    const scope = errorResponse(new AccessTokenError("scope", "Lacks mcp.", { scope: ["mcp"] }), options);
    expect(scope.status).toBe(403);
    expect(scope.headers.get("www-authenticate")).toBe(
      `Bearer error="insufficient_scope", error_description="Lacks mcp.", scope="mcp", resource_metadata="${METADATA}"`,
    );
  });

  test("503 when the key set is unavailable: no challenge, a Retry-After", () => {
    const res = errorResponse(new AccessTokenError("jwks_unavailable", "Down."), options);
    expect([res.status, res.headers.get("www-authenticate"), res.headers.get("retry-after")]).toEqual([
      503,
      null,
      "10",
    ]);
  });
});

describe("Hono middleware", () => {
  let issuer: TestIssuer;
  type AppEnv = { Bindings: { ISSUER: string } };
  let app: Hono<AppEnv>;
  beforeAll(async () => {
    issuer = await startTestIssuer({ resource: RESOURCE });
    const fromEnv = (c: Context<AppEnv>): ResourceOptions => ({
      issuer: c.env.ISSUER,
      resource: RESOURCE,
      scopes: ["mcp"],
    });
    app = new Hono<AppEnv>()
      .use(protectedResourceMetadataRoute(fromEnv))
      .get("/mcp", requireAccessToken(fromEnv), (c) => c.json({ sub: c.var.accessToken.sub }));
  });
  afterAll(() => issuer.close());
  const env = () => ({ ISSUER: issuer.url });

  test("puts the verified token on c.var", async () => {
    const res = await app.request(
      "/mcp",
      { headers: { authorization: `Bearer ${await issuer.sign({ sub: "ada" })}` } },
      env(),
    );
    expect([res.status, await res.json()]).toEqual([200, { sub: "ada" }]);
  });

  test("answers 401 and 403 with their challenges", async () => {
    const none = await app.request("/mcp", {}, env());
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${METADATA}"`);
    const noScope = await app.request(
      "/mcp",
      { headers: { authorization: `Bearer ${await issuer.sign({ scope: "openid" })}` } },
      env(),
    );
    expect(noScope.status).toBe(403);
    expect(noScope.headers.get("www-authenticate")).toContain('error="insufficient_scope", error_description=');
  });

  test("serves the metadata with the issuer from env", async () => {
    const res = await app.request("/.well-known/oauth-protected-resource/mcp", {}, env());
    expect(await res.json()).toMatchObject({ authorization_servers: [issuer.url] });
  });
});
