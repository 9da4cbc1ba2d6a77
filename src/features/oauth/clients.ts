import { eq } from "drizzle-orm";
import type { Ctx } from "../../platform/context";
import type { Db } from "../../platform/db";
import { oauthClients } from "../../platform/schema-oauth";
import { documentUrl, fetchClientDocument } from "./client-documents";

// The provider's clients as the authorize and token endpoints see them: a row of
// oauth_clients (admin, dynamic) or, for a `client_id` that is an https URL, a client ID
// metadata document (fetched and cached in the same table).

/** One client, parsed. */
export type OAuthClient = {
  clientId: string;
  clientName: string;
  type: "public" | "confidential";
  registration: "admin" | "dynamic" | "metadata_document";
  /** SHA-256 hex of the secret; null for public clients. */
  secretHash: string | null;
  tokenEndpointAuthMethod: "none" | "client_secret_basic" | "client_secret_post";
  redirectUris: string[];
  grantTypes: string[];
  /** Scopes it may ask for; null: any the provider knows. */
  scope: string[] | null;
  firstParty: boolean;
  /** The other registered metadata (RFC 7591 §2: client_uri, logo_uri, contacts,
   * software_id, software_version, tos_uri, policy_uri), already checked and inert. */
  metadata: Record<string, unknown>;
  createdAt: Date;
  /** Last authorization or token request; null: never used. */
  lastUsedAt: Date | null;
};

type Row = typeof oauthClients.$inferSelect;

export function clientOf(row: Row): OAuthClient {
  return {
    clientId: row.clientId,
    clientName: row.clientName,
    type: row.type,
    registration: row.registration,
    secretHash: row.secretHash,
    tokenEndpointAuthMethod: row.tokenEndpointAuthMethod as OAuthClient["tokenEndpointAuthMethod"],
    redirectUris: JSON.parse(row.redirectUris) as string[],
    grantTypes: JSON.parse(row.grantTypes) as string[],
    scope: row.scope === null ? null : row.scope.split(" "),
    firstParty: row.firstParty,
    metadata: row.metadata === null ? {} : (JSON.parse(row.metadata) as Record<string, unknown>),
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
  };
}

/**
 * The client `clientId`, or undefined when there is none (the authorize endpoint then shows
 * its 400 page, the token endpoint answers `invalid_client`). A registered client is one
 * read. A `client_id` that is a metadata document's URL (OAUTH_CLIENT_METADATA_DOCUMENTS,
 * client-documents.ts) is answered from its cached row while that is fresh, else fetched
 * again; a document that cannot be fetched or is refused is no client (a stale copy is
 * never used). With OAUTH_CLIENT_METADATA_DOCUMENTS off, cached documents are not served.
 */
export async function findClient(ctx: Ctx, clientId: string): Promise<OAuthClient | undefined> {
  if (clientId === "" || clientId.length > 2048) return undefined;
  const [row] = await ctx.db.select().from(oauthClients).where(eq(oauthClients.clientId, clientId)).limit(1);
  if (row && row.registration !== "metadata_document") return clientOf(row);
  const url = ctx.config.oauth.metadataDocuments ? documentUrl(clientId, ctx.config.oauth) : undefined;
  if (!url) return undefined;
  if (row?.expiresAt && row.expiresAt > ctx.now) return clientOf(row);
  const fetched = await fetchClientDocument(ctx, clientId, url);
  return fetched ? clientOf(fetched) : undefined;
}

/** Records that `clientId` was used now (a successful authorization or token request):
 * batchable. Housekeeping deletes a dynamic client 30 days after its `last_used_at`, or
 * after its `created_at` when this never ran. */
export function markClientUsed(db: Db, clientId: string, now: Date) {
  return db.update(oauthClients).set({ lastUsedAt: now }).where(eq(oauthClients.clientId, clientId));
}
