import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Registered accounts. `email` is stored normalized (trimmed, lowercased), so the
 * UNIQUE index alone decides duplicates in any letter case. */
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  firstName: text("first_name").notNull(),
  lastName: text("last_name").notNull(),
  passwordHash: text("password_hash").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});
