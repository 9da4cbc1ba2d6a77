import { and, asc, eq, or, sql } from "drizzle-orm";
import { type Db, insertRow } from "../../platform/db";
import { identities, NO_PASSWORD, passkeys, users } from "../../platform/schema";
import { publicColumns } from "./users";

// Identities at social providers linked to accounts (social sign-in), keyed by (issuer,
// subject), never by email (OpenID Connect Core §5.7: only `iss` + `sub` identify an
// end-user). Here in the core, not in the social feature, so the admin view and the
// account's sign-in methods can read them without importing that feature.

export type IdentityRow = typeof identities.$inferSelect;

/** The user's identities, oldest first. Batchable. */
export function listIdentities(db: Db, userId: string) {
  return db.select().from(identities).where(eq(identities.userId, userId)).orderBy(asc(identities.createdAt));
}

/** The identity (issuer, subject) and its account, if linked. Batchable. */
export function findIdentity(db: Db, issuer: string, subject: string) {
  return db
    .select({ identity: identities, user: publicColumns })
    .from(identities)
    .innerJoin(users, eq(users.id, identities.userId))
    .where(and(eq(identities.issuer, issuer), eq(identities.subject, subject)))
    .limit(1);
}

/** The identity of an account being created in the same batch: inserted only if the
 * account's insert went in (its fresh id exists), so an account a social sign-in creates
 * never stands without the identity it was made for. Batchable, after the user's insert. */
export function insertIdentityOfNewUser(db: Db, row: typeof identities.$inferSelect) {
  return insertRow(db, identities, row, sql`where exists (select 1 from ${users} where ${users.id} = ${row.userId})`);
}

/** Links (issuer, subject) to `row.userId`; nothing (an empty result) when that identity
 * is already linked to anyone: the UNIQUE index decides, so two racing links cannot both
 * win. Batchable. */
export function insertIdentity(db: Db, row: typeof identities.$inferInsert) {
  return db
    .insert(identities)
    .values(row)
    .onConflictDoNothing({ target: [identities.issuer, identities.subject] })
    .returning({ id: identities.id });
}

/** True in SQL while `userId` has another way to sign in than the identity `keepOut`: a
 * password, a passkey or another identity. */
function anotherSignInMethod(userId: string, keepOut: string) {
  return or(
    sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.passwordHash} <> ${NO_PASSWORD})`,
    sql`exists (select 1 from ${passkeys} where ${passkeys.userId} = ${userId})`,
    sql`exists (select 1 from ${identities} as other where other.user_id = ${userId} and other.id <> ${keepOut})`,
  );
}

/** Unlinks the user's identity `id`, only while the account keeps another way to sign in
 * (one statement decides, so two racing unlinks cannot remove the last two). Returns the
 * removed row, or nothing. Batchable. */
export function deleteIdentity(db: Db, userId: string, id: string) {
  return db
    .delete(identities)
    .where(and(eq(identities.id, id), eq(identities.userId, userId), anotherSignInMethod(userId, id)))
    .returning();
}

/** The user's identity `id` (to tell "not yours" from "your last way in"). Batchable. */
export function findOwnIdentity(db: Db, userId: string, id: string) {
  return db
    .select({ id: identities.id })
    .from(identities)
    .where(and(eq(identities.id, id), eq(identities.userId, userId)));
}
