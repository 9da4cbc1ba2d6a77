import { eq } from "drizzle-orm";
import type { Ctx } from "../../platform/context";
import { oauthClients } from "../../platform/schema-oauth";

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
  };
}

/**
 * The client `clientId`, or undefined when there is none. A registered client is one
 * read; a metadata-document URL (OAUTH_CLIENT_METADATA_DOCUMENTS) is answered from the
 * cache or fetched (see client-documents.ts).
 */
export async function findClient(ctx: Ctx, clientId: string): Promise<OAuthClient | undefined> {
  if (clientId === "" || clientId.length > 2048) return undefined;
  const [row] = await ctx.db.select().from(oauthClients).where(eq(oauthClients.clientId, clientId)).limit(1);
  return row ? clientOf(row) : undefined;
}
