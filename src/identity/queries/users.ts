import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { type Role, users } from "../../platform/schema";

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

/** `passwordHash` is NO_PASSWORD for an account a social sign-in made; `emailVerifiedAt`
 * is set when the provider vouched for the address. */
type NewUser = Pick<User, "id" | "email" | "firstName" | "lastName"> & {
  passwordHash: string;
  emailVerifiedAt?: Date | null;
};

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
