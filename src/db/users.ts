import { eq } from "drizzle-orm";
import type { Db } from "../env";
import { users } from "./schema";

/** A user as the API may show it: never the password hash. */
export type User = {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  createdAt: Date;
};

const publicColumns = {
  id: users.id,
  email: users.email,
  firstName: users.firstName,
  lastName: users.lastName,
  createdAt: users.createdAt,
};

type NewUser = Omit<User, "createdAt"> & { passwordHash: string };

/** The insert of a new user, returning it, or nothing when the email is taken: the
 * UNIQUE index decides, so concurrent registrations cannot both win. Batchable. */
export function insertUserQuery(db: Db, values: NewUser, now: Date) {
  return db
    .insert(users)
    .values({ ...values, createdAt: now, updatedAt: now })
    .onConflictDoNothing({ target: users.email })
    .returning(publicColumns);
}

/** Replaces the password hash. Batchable. */
export function setPasswordHash(db: Db, userId: string, passwordHash: string, now: Date) {
  return db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, userId));
}

/** The only query that reads the hash: for the password check at login. */
export async function findUserWithHash(db: Db, email: string): Promise<(User & { passwordHash: string }) | undefined> {
  return db
    .select({ ...publicColumns, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email))
    .get();
}

/** The stored hash of `userId`, for re-checking the password before sensitive changes. */
export async function findPasswordHash(db: Db, userId: string): Promise<string | undefined> {
  const row = await db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId)).get();
  return row?.passwordHash;
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

/** The user as JSON, in the tutorial's snake_case field names. */
export function userJson(user: User) {
  return {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    created_at: user.createdAt.toISOString(),
  };
}
