import type { sessions } from "../src/platform/schema";

// Rows of the OAuth provider's tables straight into D1, for tests that need a grant or a
// client without running the flows that make them.

/** An OAuth grant's session row for `userId` and `clientId`, straight into D1. */
export function grantRow(userId: string, clientId: string, fields: Partial<typeof sessions.$inferInsert> = {}) {
  const id = crypto.randomUUID();
  const now = Date.now();
  return {
    id,
    userId,
    familyId: id,
    refreshTokenHash: crypto.randomUUID(),
    createdAt: new Date(now - 60_000),
    lastUsedAt: new Date(now - 30_000),
    expiresAt: new Date(now + 3600_000),
    kind: "oauth" as const,
    clientId,
    scope: "openid mcp",
    ...fields,
  };
}

/** A client row straight into D1. */
export function clientRow(
  clientId: string,
  registration: "admin" | "dynamic" | "metadata_document",
  createdAt: Date,
  lastUsedAt: Date | null = null,
) {
  return {
    clientId,
    clientName: `Client ${clientId.slice(0, 8)}`,
    type: "public" as const,
    registration,
    tokenEndpointAuthMethod: "none",
    redirectUris: JSON.stringify(["https://c.example.com/cb"]),
    grantTypes: JSON.stringify(["authorization_code"]),
    createdAt,
    updatedAt: createdAt,
    lastUsedAt,
  };
}
