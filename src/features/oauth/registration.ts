import { type Context, Hono } from "hono";
import { type Ctx, ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { readJsonObject } from "../../platform/http/json-body";
import { describe } from "../../platform/openapi/describe";
import { oauthClients } from "../../platform/schema-oauth";
import { type ClientMetadata, clientMetadataOf, registrationBody, registrationJson } from "./client-metadata";
import { defaultName } from "./client-rules";
import { newClientId, newClientSecret } from "./client-service";
import { OAuthError, oauthErrorResponse } from "./errors";

// POST /oauth/register: dynamic client registration (RFC 7591), open with
// OAUTH_DYNAMIC_REGISTRATION=true. MCP clients (the MCP SDK) register here before their
// first authorization; every answer, errors included, is in the RFC's shape.

/** Registers `metadata` as a `dynamic` client; answers RFC 7591 §3.2.1's body: every
 * registered field, `client_id`, `client_id_issued_at` (epoch seconds) and, for a
 * confidential client, `client_secret` with `client_secret_expires_at: 0` (never expires). */
export async function registerClient(ctx: Ctx, metadata: ClientMetadata) {
  const secret = metadata.authMethod === "none" ? undefined : await newClientSecret();
  const clientId = newClientId();
  const clientName = metadata.clientName ?? defaultName(metadata.redirectUris, "Unnamed client");
  await ctx.db.insert(oauthClients).values({
    clientId,
    clientName,
    type: secret ? "confidential" : "public",
    registration: "dynamic",
    secretHash: secret?.hash ?? null,
    tokenEndpointAuthMethod: metadata.authMethod,
    redirectUris: JSON.stringify(metadata.redirectUris),
    grantTypes: JSON.stringify(metadata.grantTypes),
    scope: metadata.scope === null ? null : metadata.scope.join(" "),
    firstParty: false,
    metadata: Object.keys(metadata.extra).length === 0 ? null : JSON.stringify(metadata.extra),
    createdAt: ctx.now,
    updatedAt: ctx.now,
    lastUsedAt: null,
    expiresAt: null,
  });
  ctx.log("info", "oauth_client_registered", { client_id: clientId, token_endpoint_auth_method: metadata.authMethod });
  return {
    client_id: clientId,
    client_id_issued_at: Math.floor(ctx.now.getTime() / 1000),
    ...(secret && { client_secret: secret.secret, client_secret_expires_at: 0 as const }),
    client_name: clientName,
    redirect_uris: metadata.redirectUris,
    grant_types: metadata.grantTypes,
    response_types: ["code" as const],
    token_endpoint_auth_method: metadata.authMethod,
    ...(metadata.scope !== null && { scope: metadata.scope.join(" ") }),
    ...metadata.extra,
  };
}

/** The body as a JSON object; anything else is `invalid_client_metadata`. */
async function metadataBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  try {
    const body = await readJsonObject(c);
    if (body) return body;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
  throw new OAuthError("invalid_client_metadata", "The body must be a JSON object of client metadata (RFC 7591)");
}

/** An error of this route in the RFC shape: the rate limit's 429 included (with Retry-After). */
function registrationError(c: Context<AppEnv>, err: unknown): Response {
  if (err instanceof OAuthError) return oauthErrorResponse(c, err);
  if (err instanceof ApiError && err.code === "rate_limited") {
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    return oauthErrorResponse(
      c,
      new OAuthError("temporarily_unavailable", "Too many registrations from this address: try again later", 429),
    );
  }
  throw err;
}

export const registration = new Hono<AppEnv>().post(
  "/oauth/register",
  describe({
    operationId: "registerOAuthClient",
    tag: "OAuth",
    summary: "Dynamic client registration (RFC 7591)",
    description:
      "Open with OAUTH_DYNAMIC_REGISTRATION=true (else 404 in the OAuth shape). Registers a `dynamic` client: public with `token_endpoint_auth_method: none` (what MCP clients send), confidential otherwise (the RFC's default is client_secret_basic) with a `client_secret` shown once. Unused for 30 days, it is deleted. Per-IP limited (OAUTH_REGISTER_RATE_LIMIT). Errors are `{error, error_description}` (RFC 7591 §3.2.2). CORS open without credentials.",
    access: "public",
    oauthBody: registrationBody,
    ok: {
      status: 201,
      description: "The registered client (RFC 7591 §3.2.1)",
      json: registrationJson,
      cacheControl: "no-store",
    },
    oauthErrors: {
      400: ["invalid_redirect_uri", "invalid_client_metadata"],
      404: ["invalid_request"],
      429: ["temporarily_unavailable"],
    },
  }),
  async (c) => {
    try {
      const { oauth } = c.var.config;
      if (!oauth.enabled || !oauth.dynamicRegistration) {
        throw new OAuthError("invalid_request", "Dynamic client registration is not open here", 404);
      }
      const metadata = clientMetadataOf(await metadataBody(c), c.var.config, "registration");
      const ctx = ctxOf(c);
      // Counted once the request is well-formed, as every other per-IP limit.
      await ctx.limit("OAUTH_REGISTER_RATE_LIMIT");
      const registered = await registerClient(ctx, metadata);
      c.header("Cache-Control", "no-store");
      return c.json(registered, 201);
    } catch (err) {
      return registrationError(c, err);
    }
  },
);
