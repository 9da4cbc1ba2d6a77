import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** What an account may do; `admin` reaches /admin/*. */
export const ROLES = ["user", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Registered accounts. `email` is stored normalized (trimmed, NFC, lowercased), so
 * the UNIQUE index alone decides duplicates in any letter case. */
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  firstName: text("first_name").notNull(),
  lastName: text("last_name").notNull(),
  passwordHash: text("password_hash").notNull(),
  /** `user` or `admin`; only an admin (or `npm run admin:grant`) changes it. */
  role: text("role", { enum: ROLES }).notNull().default("user"),
  /** A disabled account cannot log in or refresh; its sessions are revoked. */
  disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/** One row per refresh token. A login starts a family (`family_id` = the first row's
 * id, and the `sid` of its access tokens); each refresh adds a child row and marks
 * its parent `replaced_by`. A replaced token presented again means theft: the whole
 * family is revoked. Only the SHA-256 of a refresh token is stored. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    familyId: text("family_id").notNull(),
    parentId: text("parent_id"),
    replacedBy: text("replaced_by"),
    refreshTokenHash: text("refresh_token_hash").notNull().unique(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (table) => [index("sessions_user_id_idx").on(table.userId), index("sessions_family_id_idx").on(table.familyId)],
);

/** Consecutive failed logins per normalized email, registered or not, so a lockout
 * says nothing about which emails have accounts. Cleared by a successful login and
 * by registering the email. */
export const loginFailures = sqliteTable("login_failures", {
  email: text("email").primaryKey(),
  failures: integer("failures").notNull(),
  lastFailureAt: integer("last_failure_at", { mode: "timestamp_ms" }).notNull(),
  lockedUntil: integer("locked_until", { mode: "timestamp_ms" }),
});
