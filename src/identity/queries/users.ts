import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../platform/db";
import { type Role, sessions, users } from "../../platform/schema";
import { retireFor } from "../../platform/single-use";

/** A user as the API may show it: never the password hash. */
export type User = {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  role: Role;
  disabled: boolean;
  /** When the address was proved by a link; null until then. */
  emailVerifiedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

/** Every column but the hash. */
export const publicColumns = {
  id: users.id,
  email: users.email,
  firstName: users.firstName,
  lastName: users.lastName,
  role: users.role,
  disabled: users.disabled,
  emailVerifiedAt: users.emailVerifiedAt,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
};

type NewUser = Pick<User, "id" | "email" | "firstName" | "lastName"> & { passwordHash: string };

/** The insert of a new user, returning it, or nothing when the email is taken: the
 * UNIQUE index decides, so concurrent registrations cannot both win. Batchable. */
export function insertUserQuery(db: Db, values: NewUser, now: Date) {
  return db
    .insert(users)
    .values({ ...values, createdAt: now, updatedAt: now })
    .onConflictDoNothing({ target: users.email })
    .returning(publicColumns);
}

/** Stores the hash of a password the user just chose (change, reset): it follows the
 * 72-byte rule, so the account is no longer `passwordImported`. Batchable. */
export function setPasswordHash(db: Db, userId: string, passwordHash: string, now: Date) {
  return db.update(users).set({ passwordHash, passwordImported: false, updatedAt: now }).where(eq(users.id, userId));
}

/** Stores a login's rehash of the same password (another cost, or NFC): an imported
 * account stays imported, so a password over 72 bytes keeps logging in. Batchable. */
export function rehashPassword(db: Db, userId: string, passwordHash: string, now: Date) {
  return db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, userId));
}

/** What the password check needs besides the password: the hash and whether it was imported. */
const passwordColumns = { passwordHash: users.passwordHash, passwordImported: users.passwordImported };

/** The user with its hash, for the password check at login. Batchable. */
export function findUserWithHash(db: Db, email: string) {
  return db
    .select({ ...publicColumns, ...passwordColumns })
    .from(users)
    .where(eq(users.email, email))
    .limit(1);
}

/** The stored hash of `userId` and whether it was imported, for re-checking the password
 * before sensitive changes. */
export function findPasswordHash(db: Db, userId: string) {
  return db.select(passwordColumns).from(users).where(eq(users.id, userId)).get();
}

/** Updates the names given; returns the user, or undefined if it no longer exists. */
export async function updateNames(
  db: Db,
  userId: string,
  names: { firstName?: string; lastName?: string },
  now: Date,
): Promise<User | undefined> {
  const [user] = await db
    .update(users)
    .set({ ...names, updatedAt: now })
    .where(eq(users.id, userId))
    .returning(publicColumns);
  return user;
}

/** Deletes the user; its sessions go with it (ON DELETE CASCADE). Batchable. */
export function deleteUser(db: Db, userId: string) {
  return db.delete(users).where(eq(users.id, userId));
}

/** The user as register and login answer it, in the tutorial's snake_case names. */
export function userJson(user: User) {
  return {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    created_at: user.createdAt.toISOString(),
  };
}

/** The whole account, for `/me` and the admin API. */
export function accountJson(user: User) {
  return {
    ...userJson(user),
    role: user.role,
    disabled: user.disabled,
    email_verified: user.emailVerifiedAt !== null,
    updated_at: user.updatedAt.toISOString(),
  };
}

/** The account registered with `email` (normalized), if any. */
export function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db.select(publicColumns).from(users).where(eq(users.email, email)).get();
}

/** Marks the address verified, only while the account still has `email` (a link sent to
 * an address the account has since left proves nothing) and is enabled. Batchable. */
export function markVerified(db: Db, userId: string, email: string, now: Date) {
  return db
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, ${now.getTime()})` })
    .where(and(eq(users.id, userId), eq(users.email, email), eq(users.disabled, false)))
    .returning(publicColumns);
}

/** True in SQL while `userId` is enabled, has `email`, and that address was never proved. */
export function unprovenAddress(userId: string, email: string): SQL {
  return sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.email} = ${email}
    and ${users.emailVerifiedAt} is null and ${users.disabled} = 0)`;
}

/** Stamps `updatedAt` when `onlyIf` holds: a change made of other tables' rows (factors
 * removed) shows on the account, and an audit event batched right after it is written
 * only then (`auditEvent`'s `onlyIfChanged`). Batchable. */
export function touchUser(db: Db, userId: string, now: Date, onlyIf: SQL) {
  return db
    .update(users)
    .set({ updatedAt: now })
    .where(and(eq(users.id, userId), onlyIf));
}

/** The current address of `userId` and whether it is disabled (empty when the user is
 * gone). Batchable. */
export function findEmail(db: Db, userId: string) {
  return db.select({ email: users.email, disabled: users.disabled }).from(users).where(eq(users.id, userId));
}

/** Moves the enabled account to `email`, verified by the link that asked for it, unless
 * another account has taken the address meanwhile (then nothing changes). Batchable. */
export function changeEmail(db: Db, userId: string, email: string, now: Date) {
  return db
    .update(users)
    .set({ email, emailVerifiedAt: now, updatedAt: now })
    .where(
      and(
        eq(users.id, userId),
        eq(users.disabled, false),
        sql`not exists (select 1 from ${users} as other where other.email = ${email} and other.id <> ${userId})`,
      ),
    )
    .returning(publicColumns);
}

export function findUser(db: Db, id: string): Promise<User | undefined> {
  return db.select(publicColumns).from(users).where(eq(users.id, id)).get();
}

/** One page of users in email order, after `afterEmail`, optionally only those whose
 * email starts with `prefix` (compared exactly, never as a LIKE pattern). */
export function listUsers(db: Db, page: { limit: number; afterEmail?: string; prefix?: string }) {
  const { limit, afterEmail, prefix } = page;
  return db
    .select(publicColumns)
    .from(users)
    .where(
      and(
        afterEmail === undefined ? undefined : gt(users.email, afterEmail),
        prefix === undefined ? undefined : sql`substr(${users.email}, 1, ${prefix.length}) = ${prefix}`,
      ),
    )
    .orderBy(asc(users.email))
    .limit(limit);
}

/** True unless the change would leave no enabled admin: the target is not an enabled
 * admin, or another enabled admin exists. Checked inside the write, so two admins
 * demoting each other at once cannot both succeed. */
function keepsAnAdmin(id: string): SQL {
  return sql`(not (${users.role} = 'admin' and ${users.disabled} = 0) or exists (
    select 1 from ${users} as other where other.role = 'admin' and other.disabled = 0 and other.id <> ${id}))`;
}

/** Changes role and/or disabled. Removing admin rights is guarded by `keepsAnAdmin`;
 * disabling revokes every session and retires every single-use row in the same batch. `also` (audit events) runs right
 * after the update, in the same batch. Returns the user, or undefined when it does not
 * exist or the guard refused. */
export async function updateAccess(
  db: Db,
  id: string,
  change: { role?: Role; disabled?: boolean },
  now: Date,
  also: BatchItem<"sqlite">[] = [],
): Promise<User | undefined> {
  const losesAdmin = change.role === "user" || change.disabled === true;
  const update = db
    .update(users)
    .set({ ...change, updatedAt: now })
    .where(and(eq(users.id, id), losesAdmin ? keepsAnAdmin(id) : undefined))
    .returning(publicColumns);
  const disabledNow = sql`(select ${users.disabled} from ${users} where ${users.id} = ${id}) = 1`;
  const revoke = db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, id), sql`${sessions.revokedAt} is null`, disabledNow));
  // Disabling also retires every link and flow in flight (RETIRED_BY.account_disabled).
  const retire = change.disabled ? retireFor(db, "account_disabled", id, now, { onlyIf: disabledNow }) : [];
  const [[user]] = await db.batch([update, ...also, revoke, ...retire]);
  return user;
}

/** Deletes a user unless it is the last enabled admin, with `also` (audit events) right
 * after it in the same batch; returns whether a row went. */
export async function deleteUserGuarded(db: Db, id: string, also: BatchItem<"sqlite">[] = []): Promise<boolean> {
  const [rows] = await db.batch([
    db
      .delete(users)
      .where(and(eq(users.id, id), keepsAnAdmin(id)))
      .returning({ id: users.id }),
    ...also,
  ]);
  return rows.length > 0;
}
