import { Hono } from "hono";
import { auditEvent, decodeAuditCursor, encodeAuditCursor, listAuditEvents } from "../../identity/audit";
import { requireRole } from "../../identity/guards";
import { deleteAllFactors, findFactors } from "../../identity/queries/factors";
import { listIdentities } from "../../identity/queries/identities";
import { findUser } from "../../identity/queries/users";
import { retireFor } from "../../identity/retirement";
import { account, accountJson, adminUser, auditJson, identityJson } from "../../identity/schemas";
import { requestSource } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody, queryParams } from "../../platform/http/json-body";
import { log } from "../../platform/log";
import { describe } from "../../platform/openapi/describe";
import { deleteUserGuarded, listUsers, updateAccess } from "./queries";
import {
  accessBody,
  auditPage,
  auditQuery,
  decodeCursor,
  encodeCursor,
  listUsersQuery,
  userId,
  userPage,
} from "./schemas";

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
      ok: {
        status: 200,
        description: "The account, its enrolled second factors and its linked social identities",
        json: adminUser,
      },
      errors: ["not_found"],
    }),
    async (c) => {
      const user = await findUser(c.var.db, c.req.param("id"));
      if (!user) throw new ApiError("not_found", "No such user");
      const [mfa, linked] = await Promise.all([findFactors(c.var.db, user.id), listIdentities(c.var.db, user.id)]);
      return c.json({ ...accountJson(user), mfa, identities: linked.map(identityJson) });
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
