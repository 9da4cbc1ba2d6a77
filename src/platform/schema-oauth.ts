import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { users } from "./schema";

// The OAuth 2.1 / OpenID Connect provider's tables (docs/oauth-provider.md). Its grants'
// refresh tokens are session rows of kind `oauth` (src/platform/schema.ts), so rotation,
// reuse detection and every "end all sessions" event cover them.

/** How an OAuth client came to be known (docs/oauth-provider.md). */
export const OAUTH_CLIENT_REGISTRATIONS = ["admin", "dynamic", "metadata_document"] as const;

/** Clients of the OAuth 2.1 / OpenID Connect provider: registered by an admin
 * (`POST /admin/oauth/clients`), dynamically (RFC 7591 `POST /oauth/register`), or read
 * from a client ID metadata document (the `client_id` is its https URL; the row is a
 * cache, refetched after `expires_at`). A confidential client's secret is random and only
 * its SHA-256 is kept. */
export const oauthClients = sqliteTable(
  "oauth_clients",
  {
    clientId: text("client_id").primaryKey(),
    clientName: text("client_name").notNull(),
    /** `public` (no secret: PKCE alone) or `confidential`. */
    type: text("type", { enum: ["public", "confidential"] }).notNull(),
    registration: text("registration", { enum: OAUTH_CLIENT_REGISTRATIONS }).notNull(),
    /** SHA-256 (hex) of the client secret; null for public clients. */
    secretHash: text("secret_hash"),
    /** `none`, `client_secret_basic` or `client_secret_post` (RFC 7591 §2). */
    tokenEndpointAuthMethod: text("token_endpoint_auth_method").notNull(),
    /** JSON array of the exact redirect URIs (loopback ones of public clients match on any port, RFC 8252 §7.3). */
    redirectUris: text("redirect_uris").notNull(),
    /** JSON array of grant types: `authorization_code`, `refresh_token`, `client_credentials`. */
    grantTypes: text("grant_types").notNull(),
    /** Space-separated scopes the client may ask for; null: any the provider knows. */
    scope: text("scope"),
    /** Registered by an admin as the deployment's own app: consent may be skipped. */
    firstParty: integer("first_party", { mode: "boolean" }).notNull().default(false),
    /** JSON object of the other registered metadata echoed back (client_uri, logo_uri,
     * contacts, software_id, ...); never a secret. */
    metadata: text("metadata"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    /** Last successful authorization or token request; housekeeping deletes dynamic
     * clients unused for 30 days. */
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    /** `metadata_document` rows: the cached document is fresh until then (its
     * Cache-Control, at most 24 h). */
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
  },
  (table) => [index("oauth_clients_registration_idx").on(table.registration, table.lastUsedAt)],
);

/** What a person allowed a client (the consent page's "allow"), per user and client: the
 * scopes granted (space-separated, sorted) and the resources. A later request for scopes
 * within them skips the page unless `prompt=consent`; `DELETE /me/oauth/grants/:client_id`
 * removes the row and ends every token of the grant. */
export const oauthConsents = sqliteTable(
  "oauth_consents",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientId: text("client_id")
      .notNull()
      .references(() => oauthClients.clientId, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    /** The resource indicators (RFC 8707) allowed with it, space-separated: a request for
     * another resource asks again (the page names the resource). */
    resources: text("resources").notNull().default(""),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.clientId] }),
    index("oauth_consents_client_id_idx").on(table.clientId),
  ],
);
