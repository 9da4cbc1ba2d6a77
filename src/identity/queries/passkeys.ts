import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { passkeys, users } from "../../platform/schema";
import { publicColumns } from "./users";

export type PasskeyRow = typeof passkeys.$inferSelect;

/** The user's passkeys, newest first. */
export function listPasskeys(db: Db, userId: string) {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(desc(passkeys.createdAt));
}

/** The passkey with WebAuthn credential id `credentialId` (base64url), of any user. Batchable. */
export function findPasskeyByCredential(db: Db, credentialId: string) {
  return db.select().from(passkeys).where(eq(passkeys.credentialId, credentialId)).limit(1);
}

/** The owner of the passkey `credentialId`, batchable with `findPasskeyByCredential`. */
export function findPasskeyOwner(db: Db, credentialId: string) {
  const owner = sql`(select ${passkeys.userId} from ${passkeys} where ${passkeys.credentialId} = ${credentialId})`;
  return db.select(publicColumns).from(users).where(eq(users.id, owner));
}

/** Records a new passkey; nothing when the credential is already registered. */
export function insertPasskey(db: Db, row: typeof passkeys.$inferInsert) {
  return db.insert(passkeys).values(row).onConflictDoNothing({ target: passkeys.credentialId }).returning();
}

/** Moves the signature counter from `previous` to `next` and stamps the use, only if
 * no other request moved it first (a replayed assertion racing the original loses). */
export function usePasskey(db: Db, id: string, previous: number, next: number, now: Date) {
  return db
    .update(passkeys)
    .set({ counter: next, lastUsedAt: now })
    .where(and(eq(passkeys.id, id), eq(passkeys.counter, previous)))
    .returning({ id: passkeys.id });
}

/** Renames one of the user's passkeys; the row, or none when it is not theirs. */
export function renamePasskey(db: Db, userId: string, id: string, name: string) {
  return db
    .update(passkeys)
    .set({ name })
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning();
}

/** Deletes one of the user's passkeys; the deleted ids. Batchable. */
export function deletePasskey(db: Db, userId: string, id: string) {
  return db
    .delete(passkeys)
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning({ id: passkeys.id });
}
