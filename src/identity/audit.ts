import { and, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import type { Source } from "../platform/context";
import { base64url } from "../platform/crypto";
import { type Db, insertRow, insertRows, type RowOf, type Statement } from "../platform/db";
import { auditEvents } from "../platform/schema";
import { inertText } from "../platform/text";

/** Every audit event type. Adding one is adding its name here. */
export const AUDIT_EVENT_TYPES = [
  "user_registered",
  "login_succeeded",
  "login_failed",
  "password_check_failed",
  "mfa_failed",
  "account_locked",
  "logout",
  "session_revoked",
  "refresh_token_reused",
  "password_changed",
  "account_deleted",
  "role_changed",
  "account_disabled",
  "account_enabled",
  "user_deleted_by_admin",
  "email_verified",
  "password_reset_requested",
  "password_reset",
  "email_changed",
  "mfa_enabled",
  "mfa_disabled",
  "passkey_added",
  "passkey_removed",
  "mfa_reset_by_admin",
  "second_factors_removed",
  "email_login_requested",
  "email_login",
  "email_login_failed",
  "social_login",
  "identity_linked",
  "identity_unlinked",
  "social_login_failed",
  "oauth_consent_given",
  "oauth_consent_refused",
  "oauth_code_reused",
  "oauth_token_revoked",
  "oauth_client_created",
  "oauth_client_updated",
  "oauth_client_deleted",
  "oauth_grant_revoked",
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Where a request came from, as recorded with each event. */
export type AuditSource = Source;

/** Who did it: the user themself, an admin (with the admin's id), or the system. */
export type Actor = { type: "user" | "admin"; id: string } | { type: "system" };

/** Detail values: short scalars only. Keys that could carry a secret are refused. */
export type AuditDetails = Record<string, string | number | boolean | null>;

/** Keys `details` never holds (the list: passwords, hashes, tokens, codes, secrets, links). */
const SECRET_KEY = /pass|hash|token|code|secret|link|url|otp|key/i;
const MAX_DETAIL_LENGTH = 200;

/** The event as stored: `details` without secret-looking keys, strings inert and bounded
 * (a detail can hold a client's text, such as an id from the path). */
export function safeDetails(details: AuditDetails | undefined): string | null {
  if (!details) return null;
  const kept = Object.entries(details)
    .filter(([key]) => !SECRET_KEY.test(key))
    .map(([key, value]) => [key, typeof value === "string" ? inertText(value, MAX_DETAIL_LENGTH) : value]);
  return kept.length ? JSON.stringify(Object.fromEntries(kept)) : null;
}

export type NewAuditEvent = {
  type: AuditEventType;
  /** The account the event is about. */
  userId: string;
  actor: Actor;
  source: AuditSource;
  details?: AuditDetails;
};

/**
 * The insert of one audit event, to put in the same `db.batch` as the change it records
 * (no extra round trip). Batchable. An event that must be written only when its change
 * changed a row is `auditIfChanged`'s.
 */
export function auditEvent(db: Db, event: NewAuditEvent, now: Date) {
  return insertRow(db, auditEvents, auditRow(event, now), sql`where 1`);
}

/**
 * A change and its audit events, as two statements to spread into one `db.batch`, in
 * this order: the events (one or more, one statement) are written only when the change
 * changed a row (SQLite's `changes()` of the statement right before), so a refused or
 * empty change leaves no event. One call returns both, so nothing can come between them.
 */
export function auditIfChanged<S extends Statement>(
  db: Db,
  change: S,
  event: NewAuditEvent | readonly [NewAuditEvent, ...NewAuditEvent[]],
  now: Date,
) {
  const events: readonly NewAuditEvent[] = "type" in event ? [event] : event;
  const rows = events.map((one) => ({ row: auditRow(one, now), tail: sql`where changes() > 0` }));
  return [change, insertRows(db, auditEvents, rows)] as const;
}

function auditRow(event: NewAuditEvent, now: Date): RowOf<typeof auditEvents> {
  return {
    id: crypto.randomUUID(),
    time: now,
    type: event.type,
    userId: event.userId,
    actorType: event.actor.type,
    actorId: event.actor.type === "system" ? null : event.actor.id,
    ip: event.source.ip,
    userAgent: event.source.userAgent,
    requestId: event.source.requestId,
    details: safeDetails(event.details),
  };
}

/** An event the user did themself (most are), from `source`. */
export function userEvent(
  type: AuditEventType,
  userId: string,
  source: AuditSource,
  details?: AuditDetails,
): NewAuditEvent {
  return { type, userId, actor: { type: "user", id: userId }, source, ...(details && { details }) };
}

/** Where a page starts: strictly older than (time, id), newest first. */
export type AuditCursor = { time: number; id: string };

/** One page of events, newest first (time, then id), filtered; `limit` rows at most. */
export function listAuditEvents(
  db: Db,
  query: { userId?: string; type?: string; before?: Date; after?: AuditCursor; limit: number },
) {
  const { userId, type, before, after, limit } = query;
  const conditions: (SQL | undefined)[] = [
    userId === undefined ? undefined : eq(auditEvents.userId, userId),
    type === undefined ? undefined : eq(auditEvents.type, type),
    before === undefined ? undefined : lt(auditEvents.time, before),
    after === undefined
      ? undefined
      : or(
          lt(auditEvents.time, new Date(after.time)),
          and(eq(auditEvents.time, new Date(after.time)), lt(auditEvents.id, after.id)),
        ),
  ];
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.time), desc(auditEvents.id))
    .limit(limit);
}

/** Cursors are opaque to clients: base64url of `time.id`. */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return base64url(new TextEncoder().encode(`${cursor.time}.${cursor.id}`));
}

/** The cursor, or undefined when it is not one of ours. */
export function decodeAuditCursor(cursor: string): AuditCursor | undefined {
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return undefined;
  }
  const match = /^(\d{1,15})\.([0-9a-f-]{36})$/.exec(text);
  return match ? { time: Number(match[1]), id: match[2] as string } : undefined;
}
