import * as z from "zod/mini";
import { doc, named, timestamp } from "../../platform/openapi/describe";
import { OAUTH_CLIENT_REGISTRATIONS } from "../../platform/schema-oauth";
import { GRANT_TYPES, MAX_NAME } from "./client-rules";
import type { OAuthClient } from "./clients";

// Request and response bodies of /admin/oauth/clients, POST /oauth/register (RFC 7591) and
// /me/oauth/grants. Rules beyond shapes (which URIs, which grant types for which type,
// which scopes) are checked by client-rules.ts and answered with the route's own error.

const TYPES = ["public", "confidential"] as const;
const stringList = (what: string) =>
  z.array(z.string({ error: `${what} must be an array of strings` }), { error: `${what} must be an array of strings` });

const clientFields = {
  name: doc(
    z
      .string({ error: "name must be a string" })
      .check(
        z.minLength(1, "name must not be empty"),
        z.maxLength(MAX_NAME, `name must be at most ${MAX_NAME} characters`),
      ),
    "Shown on the consent page (made inert)",
  ),
  redirect_uris: doc(
    stringList("redirect_uris"),
    "Exact redirect URIs: https, or http on 127.0.0.1, [::1] or localhost (any port for public loopback clients, RFC 8252); no fragment",
  ),
  grant_types: doc(
    z.optional(stringList("grant_types")),
    "Subset of authorization_code, refresh_token, client_credentials (confidential only); default authorization_code and refresh_token",
  ),
  scopes: doc(
    z.optional(z.nullable(stringList("scopes"))),
    "Scopes it may ask for, each one the provider supports; omitted or null: any",
  ),
  first_party: doc(
    z.optional(z.boolean({ error: "first_party must be true or false" })),
    "The deployment's own app: its users are not asked for consent (default false)",
  ),
};

export const createClientBody = named(
  "CreateOAuthClient",
  z.object({
    ...clientFields,
    type: doc(
      z.enum(TYPES, { error: 'type must be "public" or "confidential"' }),
      "public: PKCE only; confidential: also a client secret",
    ),
  }),
);

export const updateClientBody = named(
  "UpdateOAuthClient",
  z.object({
    name: z.optional(clientFields.name),
    redirect_uris: z.optional(clientFields.redirect_uris),
    grant_types: clientFields.grant_types,
    scopes: clientFields.scopes,
    first_party: clientFields.first_party,
  }),
);

const clientShape = {
  client_id: doc(z.string(), "Random, 22 characters (base64url); for metadata-document clients the document's URL"),
  client_name: z.string(),
  redirect_uris: z.array(z.string()),
  type: z.enum(TYPES),
  grant_types: z.array(z.enum(GRANT_TYPES)),
  scopes: doc(z.nullable(z.array(z.string())), "null: any scope the provider supports"),
  first_party: z.boolean(),
  token_endpoint_auth_method: z.enum(["none", "client_secret_basic", "client_secret_post"]),
  registration: doc(
    z.enum(OAUTH_CLIENT_REGISTRATIONS),
    "admin (this API), dynamic (POST /oauth/register) or metadata_document (a cached client ID metadata document)",
  ),
  created_at: timestamp(),
  last_used_at: doc(z.nullable(timestamp()), "Last authorization or token request; null: never used"),
};

export const oauthClientJson = named("OAuthClient", z.object(clientShape));

export const createdClientJson = named(
  "CreatedOAuthClient",
  z.object({
    ...clientShape,
    client_secret: doc(
      z.optional(z.string()),
      "Confidential clients only, shown this once (32 random bytes, base64url); only its SHA-256 is kept",
    ),
  }),
);

export const clientList = named("OAuthClientList", z.object({ clients: z.array(oauthClientJson) }));

export const clientSecretJson = named(
  "OAuthClientSecret",
  z.object({
    client_id: z.string(),
    client_secret: doc(z.string(), "The new secret, shown this once; the old one stops working now"),
  }),
);

export const clientIdParam = { id: "A client_id" };

/** A client as the admin API shows it: never its secret or secret hash. */
export function clientJson(client: OAuthClient & { createdAt: Date; lastUsedAt: Date | null }) {
  return {
    client_id: client.clientId,
    client_name: client.clientName,
    redirect_uris: client.redirectUris,
    type: client.type,
    grant_types: client.grantTypes as (typeof GRANT_TYPES)[number][],
    scopes: client.scope,
    first_party: client.firstParty,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    registration: client.registration,
    created_at: client.createdAt.toISOString(),
    last_used_at: client.lastUsedAt?.toISOString() ?? null,
  };
}

/** One grant a person gave (GET /me/oauth/grants). */
export const grantList = named(
  "OAuthGrantList",
  z.object({
    grants: z.array(
      z.object({
        client_id: z.string(),
        client_name: z.string(),
        scopes: z.array(z.string()),
        created_at: timestamp(),
        last_used_at: doc(z.nullable(timestamp()), "Last time the client used the grant; null: not since it was given"),
      }),
    ),
  }),
);

export const grantClientParam = { client_id: "The client the grant was given to" };
