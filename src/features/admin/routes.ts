import { Hono } from "hono";
import * as z from "zod/mini";
import {
  AUDIT_EVENT_TYPES,
  auditEvent,
  auditJson,
  decodeAuditCursor,
  encodeAuditCursor,
  listAuditEvents,
} from "../../identity/audit";
import { requireRole } from "../../identity/guards";
import { deleteAllFactors, findFactors } from "../../identity/queries/factors";
import { accountJson, findUser } from "../../identity/queries/users";
import { retireFor } from "../../identity/retirement";
import { account, accountWithFactors } from "../../identity/schemas";
import { requestSource } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody, queryParams } from "../../platform/http/json-body";
import { log } from "../../platform/log";
import { describe, doc, named } from "../../platform/openapi/describe";
import { ROLES } from "../../platform/schema";
import { deleteUserGuarded, listUsers, updateAccess } from "./queries";
import { auditPage } from "./schemas";

export const listUsersQuery = z.object({
  limit: doc(
    z.optional(z.string().check(z.regex(/^(100|[1-9][0-9]?)$/, "limit must be a whole number from 1 to 100"))),
    "Page size, a whole number from 1 to 100 (default 20)",
  ),
  cursor: doc(
    z.optional(z.string().check(z.maxLength(1024, "cursor is not valid"))),
    "`next_cursor` of the previous page",
  ),
  email: doc(
    z.optional(z.string().check(z.maxLength(254, "email prefix must be at most 254 characters"))),
    "Only emails starting with this literal prefix (no wildcards)",
  ),
});

export const accessBody = named(
  "AccessBody",
  z.object({
    role: z.optional(z.enum(ROLES, { error: 'role must be "user" or "admin"' })),
    disabled: z.optional(z.boolean({ error: "disabled must be true or false" })),
  }),
);

const userPage = named(
  "UserPage",
  z.object({
    users: z.array(account),
    next_cursor: doc(z.nullable(z.string()), "Pass back as `cursor` for the next page; null on the last"),
  }),
);

const userId = { id: "A user id" };

export const auditQuery = z.object({
  limit: listUsersQuery.shape.limit,
  cursor: listUsersQuery.shape.cursor,
  user_id: doc(
    z.optional(z.string().check(z.maxLength(64, "user_id must be at most 64 characters"))),
    "Only events about this user",
  ),
  type: doc(
    z.optional(z.enum(AUDIT_EVENT_TYPES, { error: `type must be one of ${AUDIT_EVENT_TYPES.join(", ")}` })),
    "Only events of this type",
  ),
  before: doc(
    z.optional(
      z.iso.datetime({ offset: true, error: "before must be an ISO 8601 date-time, e.g. 2026-11-30T12:00:00Z" }),
    ),
    "Only events strictly before this ISO 8601 date-time",
  ),
});

/** Cursors are opaque to clients: the last email of a page, base64url. */
function encodeCursor(email: string): string {
  const bytes = new TextEncoder().encode(email);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeCursor(cursor: string): string {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
  } catch {
    throw new ApiError("invalid_input", "cursor is not valid");
  }
}

/** The admin API. Every route needs an admin session that is live in D1 right now. */
export const admin = new Hono<AppEnv>()
  .use("/admin/*", requireRole("admin"))
  .get(
    "/admin/users",
    describe({
      operationId: "listUsers",
      tag: "Admin",
      summary: "List users in email order",
      access: "admin",
      ok: { status: 200, description: "One page", json: userPage },
      errors: ["invalid_input"],
    }),
    queryParams(listUsersQuery),
    async (c) => {
      const query = c.req.valid("query");
      const { cursor, email } = query;
      const limit = Number(query.limit ?? 20);
      const prefix = email?.trim().normalize("NFC").toLowerCase() || undefined;
      const afterEmail = cursor === undefined ? undefined : decodeCursor(cursor);
      // One row more than asked tells whether there is a next page.
      const rows = await listUsers(c.var.db, { limit: limit + 1, afterEmail, prefix });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return c.json({
        users: page.map(accountJson),
        next_cursor: rows.length > limit && last ? encodeCursor(last.email) : null,
      });
    },
  )
  .get(
    "/admin/audit",
    describe({
      operationId: "listAuditEvents",
      tag: "Admin",
      summary: "Audit events, newest first",
      description: "All users' security events, filterable, paginated by time then id. Kept for AUDIT_RETENTION.",
      access: "admin",
      ok: { status: 200, description: "One page", json: auditPage, cacheControl: "no-store" },
      errors: ["invalid_input"],
    }),
    queryParams(auditQuery),
    async (c) => {
      const query = c.req.valid("query");
      const limit = Number(query.limit ?? 20);
      const after = query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor);
      if (query.cursor !== undefined && !after) throw new ApiError("invalid_input", "cursor is not valid");
      const rows = await listAuditEvents(c.var.db, {
        userId: query.user_id,
        type: query.type,
        before: query.before === undefined ? undefined : new Date(query.before),
        after,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      c.header("Cache-Control", "no-store");
      return c.json({
        events: page.map(auditJson),
        next_cursor: rows.length > limit && last ? encodeAuditCursor({ time: last.time.getTime(), id: last.id }) : null,
      });
    },
  )
  .get(
    "/admin/users/:id",
    describe({
      operationId: "getUser",
      tag: "Admin",
      summary: "One user",
      access: "admin",
      params: userId,
      ok: { status: 200, description: "The account and its enrolled second factors", json: accountWithFactors },
      errors: ["not_found"],
    }),
    async (c) => {
      const user = await findUser(c.var.db, c.req.param("id"));
      if (!user) throw new ApiError("not_found", "No such user");
      return c.json({ ...accountJson(user), mfa: await findFactors(c.var.db, user.id) });
    },
  )
  .delete(
    "/admin/users/:id/mfa",
    describe({
      operationId: "resetUserMfa",
      tag: "Admin",
      summary: "Remove a user's second factors",
      description:
        "For a user who lost their device: TOTP, recovery codes and passkeys are deleted, and any login waiting for a second factor dies. The user logs in with the password alone afterwards.",
      access: "admin",
      params: userId,
      ok: { status: 204, description: "Removed" },
      errors: ["not_found"],
    }),
    async (c) => {
      const id = c.req.param("id");
      const { db } = c.var;
      if (!(await findUser(db, id))) throw new ApiError("not_found", "No such user");
      const now = new Date();
      const event = { type: "mfa_reset_by_admin", userId: id, actor: { type: "admin", id: c.var.user.id } } as const;
      // Recorded, in the audit log and the log: who removed whose factors (a user who lost their device).
      await db.batch([
        ...deleteAllFactors(db, id),
        ...retireFor(db, "mfa_reset_by_admin", id, now),
        auditEvent(db, { ...event, source: requestSource(c) }, now),
      ]);
      log(c, "warn", "mfa_reset", { admin_id: c.var.user.id, user_id: id });
      return c.body(null, 204);
    },
  )
  .patch(
    "/admin/users/:id",
    describe({
      operationId: "updateUser",
      tag: "Admin",
      summary: "Change a user's role or disabled flag",
      description:
        "Disabling revokes all the user's sessions. A change that would leave no enabled admin is 409 last_admin.",
      access: "admin",
      params: userId,
      ok: { status: 200, description: "The updated account", json: account },
      errors: ["invalid_input", "not_found", "last_admin"],
    }),
    jsonBody(accessBody),
    async (c) => {
      const change = c.req.valid("json");
      if (change.role === undefined && change.disabled === undefined) {
        throw new ApiError("invalid_input", "Nothing to update: send role and/or disabled");
      }
      const id = c.req.param("id");
      const { db } = c.var;
      const now = new Date();
      const base = { userId: id, actor: { type: "admin", id: c.var.user.id }, source: requestSource(c) } as const;
      // Each event only if the update before it went through (see auditEvent).
      const events = [
        ...(change.role === undefined
          ? []
          : [{ ...base, type: "role_changed", details: { role: change.role } } as const]),
        ...(change.disabled === undefined
          ? []
          : [{ ...base, type: change.disabled ? "account_disabled" : "account_enabled" } as const]),
      ];
      const user = await updateAccess(db, id, change, now, events);
      if (user) return c.json(accountJson(user));
      if (await findUser(c.var.db, id)) throw new ApiError("last_admin");
      throw new ApiError("not_found", "No such user");
    },
  )
  .delete(
    "/admin/users/:id",
    describe({
      operationId: "deleteUser",
      tag: "Admin",
      summary: "Delete a user and its sessions",
      description: "Deleting the last enabled admin is 409 last_admin.",
      access: "admin",
      params: userId,
      ok: { status: 204, description: "Deleted" },
      errors: ["not_found", "last_admin"],
    }),
    async (c) => {
      const id = c.req.param("id");
      const event = { type: "user_deleted_by_admin", userId: id, actor: { type: "admin", id: c.var.user.id } } as const;
      if (await deleteUserGuarded(c.var.db, id, { ...event, source: requestSource(c) }, new Date())) {
        return c.body(null, 204);
      }
      if (await findUser(c.var.db, id)) throw new ApiError("last_admin");
      throw new ApiError("not_found", "No such user");
    },
  );
