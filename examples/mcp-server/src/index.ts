// A tiny MCP server (streamable HTTP, stateless) guarded by edge-auth-api's OAuth access
// tokens through @edge-auth/resource. One tool, `whoami`, answers who the token speaks for.
import type { Algorithm, ResourceOptions } from "@edge-auth/resource";
import { protectedResourceMetadataRoute, requireAccessToken } from "@edge-auth/resource/hono";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import * as z from "zod";

type AppEnv = { Bindings: CloudflareBindings };

const optionsOf = new WeakMap<CloudflareBindings, ResourceOptions>();

/** The guard's settings from [vars], built once per isolate (the module checks them on first
 * use: a bad value answers 500 and names itself in the log). */
function resourceOptions(env: CloudflareBindings): ResourceOptions {
  let options = optionsOf.get(env);
  if (!options) {
    options = {
      issuer: env.ISSUER,
      resource: env.RESOURCE,
      scopes: env.REQUIRED_SCOPES.split(/[\s,]+/).filter(Boolean),
      algorithms: env.JWT_ALG.split(",").map((alg) => alg.trim() as Algorithm),
      resourceName: "edge-auth-api MCP example",
    };
    optionsOf.set(env, options);
  }
  return options;
}
const fromEnv = (c: Context<AppEnv>) => resourceOptions(c.env);

const Whoami = { sub: z.string(), scopes: z.array(z.string()), client_id: z.string() };

/** A server with the one tool. Stateless transports can't be reused, so each request gets
 * its own server and transport (both are cheap). */
function mcpServer(): McpServer {
  const server = new McpServer({ name: "edge-auth-mcp-example", version: "0.1.0" });
  server.registerTool(
    "whoami",
    {
      title: "Who am I",
      description: "Who the access token speaks for: its subject, its scopes and the OAuth client it was issued to",
      outputSchema: Whoami,
    },
    async ({ authInfo }) => {
      const out = {
        sub: String(authInfo?.extra?.sub),
        scopes: authInfo?.scopes ?? [],
        client_id: authInfo?.clientId ?? "",
      };
      return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
    },
  );
  return server;
}

const app = new Hono<AppEnv>();

// Browser-based MCP clients call from other origins and must read the 401's challenge.
app.use(cors({ origin: "*", exposeHeaders: ["WWW-Authenticate"] }));
app.use(protectedResourceMetadataRoute(fromEnv));

app.all("/mcp", requireAccessToken(fromEnv), async (c) => {
  // Stateless: no standalone SSE stream to GET (without this the transport would hold one
  // open) and no session to DELETE. MCP clients take 405 as "not offered".
  if (c.req.method !== "POST") return c.body(null, 405, { allow: "POST" });
  const token = c.var.accessToken;
  const server = mcpServer();
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  return transport.handleRequest(c.req.raw, {
    authInfo: {
      token: token.token,
      clientId: token.clientId,
      scopes: token.scopes,
      expiresAt: token.expiresAt,
      resource: new URL(resourceOptions(c.env).resource),
      extra: { sub: token.sub },
    },
  });
});

app.notFound((c) => c.json({ error: "not_found" }, 404));
app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  console.error(err);
  return c.json({ error: "server_error" }, 500);
});

export default app;
