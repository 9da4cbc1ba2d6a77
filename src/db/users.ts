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

type NewUser = Omit<User, "id" | "createdAt"> & { passwordHash: string };

/** Inserts a user in one round trip. Returns `undefined` when the email is taken:
 * the UNIQUE index decides, so concurrent registrations cannot both win. */
export async function insertUser(db: Db, values: NewUser): Promise<User | undefined> {
  const now = new Date();
  const [user] = await db
    .insert(users)
    .values({ id: crypto.randomUUID(), ...values, createdAt: now, updatedAt: now })
    .onConflictDoNothing({ target: users.email })
    .returning(publicColumns);
  return user;
}

/** The only query that reads the hash: for the password check at login. */
export async function findUserWithHash(db: Db, email: string): Promise<(User & { passwordHash: string }) | undefined> {
  return db
    .select({ ...publicColumns, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email))
    .get();
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
