import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { sessions } from "../../platform/schema";
import { oauthClients, oauthConsents } from "../../platform/schema-oauth";

// The provider's client and consent rows: Drizzle statements, `db` first, batchable.

export type ClientRow = typeof oauthClients.$inferInsert;

/** Every client in client_id order (the primary key: no sort). */
export function listClients(db: Db) {
  return db.select().from(oauthClients).orderBy(asc(oauthClients.clientId));
}

/** One client by id. */
export function clientById(db: Db, clientId: string) {
  return db.select().from(oauthClients).where(eq(oauthClients.clientId, clientId)).limit(1);
}

/** Changes a client's fields, returning the row (none when it does not exist). */
export function updateClient(db: Db, clientId: string, set: Partial<ClientRow>) {
  return db.update(oauthClients).set(set).where(eq(oauthClients.clientId, clientId)).returning();
}

/** Ends every live refresh token issued to the client (its grants' session rows of kind
 * `oauth`), through sessions_client_id_idx. */
export function revokeClientTokens(db: Db, clientId: string, now: Date) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.clientId, clientId), eq(sessions.kind, "oauth"), isNull(sessions.revokedAt)));
}

/** Deletes the client; its consents go with it (ON DELETE CASCADE), said here too so the
 * batch does not depend on D1's foreign-key enforcement. */
export function deleteClient(db: Db, clientId: string) {
  return [
    db.delete(oauthConsents).where(eq(oauthConsents.clientId, clientId)),
    db.delete(oauthClients).where(eq(oauthClients.clientId, clientId)).returning({ clientId: oauthClients.clientId }),
  ] as const;
}

/** A person's consents with their clients' names (GET /me/oauth/grants). */
export function consentsOf(db: Db, userId: string) {
  return db
    .select({
      clientId: oauthConsents.clientId,
      clientName: oauthClients.clientName,
      scope: oauthConsents.scope,
      createdAt: oauthConsents.createdAt,
      lastUsedAt: oauthConsents.lastUsedAt,
    })
    .from(oauthConsents)
    .innerJoin(oauthClients, eq(oauthClients.clientId, oauthConsents.clientId))
    .where(eq(oauthConsents.userId, userId));
}

/** A person's live OAuth grants by client (session families of kind `oauth` not revoked or
 * expired): when the first began, when one was last used, and the scope of the newest. */
export function liveGrantsOf(db: Db, userId: string, now: Date) {
  return db
    .select({
      clientId: sessions.clientId,
      clientName: oauthClients.clientName,
      scope: sql<string | null>`max(${sessions.scope})`,
      createdAt: sql<number>`min(${sessions.createdAt})`,
      lastUsedAt: sql<number>`max(${sessions.lastUsedAt})`,
    })
    .from(sessions)
    .innerJoin(oauthClients, eq(oauthClients.clientId, sessions.clientId))
    .where(
      and(
        eq(sessions.userId, userId),
        eq(sessions.kind, "oauth"),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
      ),
    )
    .groupBy(sessions.clientId);
}

/** Deletes a person's consent to a client. */
export function deleteConsent(db: Db, userId: string, clientId: string) {
  return db.delete(oauthConsents).where(and(eq(oauthConsents.userId, userId), eq(oauthConsents.clientId, clientId)));
}
