import * as z from "zod/mini";
import { AUDIT_EVENT_TYPES } from "../../identity/audit";
import { account, activity, nextCursor } from "../../identity/schemas";
import { base64url } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import { doc, named } from "../../platform/openapi/describe";
import { ROLES } from "../../platform/schema";

/** One security event as an admin sees it (GET /admin/audit). */
const auditEventJson = z.object({
  ...activity.shape,
  user_id: doc(z.nullable(z.string()), "The account the event is about (it may since have been deleted)"),
  actor_id: doc(z.nullable(z.string()), "The acting user's or admin's id; null for the system"),
  request_id: z.nullable(z.string()),
  details: doc(
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    "A few facts (reason, seconds, role, session_id, credential...); never a password, hash, token, code, secret or link",
  ),
});

export const auditPage = named("AuditPage", z.object({ events: z.array(auditEventJson), next_cursor: nextCursor() }));

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

export const userPage = named(
  "UserPage",
  z.object({
    users: z.array(account),
    next_cursor: doc(z.nullable(z.string()), "Pass back as `cursor` for the next page; null on the last"),
  }),
);

export const userId = { id: "A user id" };

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
export function encodeCursor(email: string): string {
  return base64url(new TextEncoder().encode(email));
}

export function decodeCursor(cursor: string): string {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
  } catch {
    throw new ApiError("invalid_input", "cursor is not valid");
  }
}
