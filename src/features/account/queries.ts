import { eq } from "drizzle-orm";
import { publicColumns, type User } from "../../identity/queries/users";
import type { Db } from "../../platform/db";
import { users } from "../../platform/schema";

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
