import { and, eq, gt, isNull, ne, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { type Db, insertRow, type RowOf } from "../../platform/db";
import { type SessionKind, sessions, users } from "../../platform/schema";
import { publicColumns, type User } from "./users";

/** Where a session was started from, as shown in `GET /sessions`. */
export type Client = { userAgent: string | null; ip: string | null };

/** `amr`: how the login authenticated (RFC 8176), space-separated; set on a family's
 * first row, copied to every row a refresh adds. */
export type NewToken = Client & { id: string; refreshTokenHash: string; expiresAt: Date; amr?: string };

/** What a new family is (src/platform/schema.ts `sessions.kind`): the API's own session
 * unless given; an OAuth grant names its client, scope, resource, `auth_time` and code.
 * Every rotation copies these from the parent row. */
export type FamilyKind = {
  kind?: SessionKind;
  clientId?: string | null;
  scope?: string | null;
  resource?: string | null;
  authTime?: Date | null;
  codeId?: string | null;
};

/** A session's first row (a new family), inserted only if `userId` exists: batched
 * after a user insert that may have lost to the UNIQUE index. */
export function insertFirstToken(db: Db, userId: string, token: NewToken & FamilyKind, now: Date) {
  return insertRow(
    db,
    sessions,
    firstRow(token, userId, now),
    sql`where exists (select 1 from ${users} where ${users.id} = ${userId})`,
  );
}

/** A session's first row for a user known to exist. */
export function insertSession(db: Db, userId: string, token: NewToken & FamilyKind, now: Date) {
  return db.insert(sessions).values(firstRow(token, userId, now));
}

/** A new family's first row. */
function firstRow(token: NewToken & FamilyKind, userId: string, now: Date) {
  return {
    id: token.id,
    userId,
    familyId: token.id,
    parentId: null,
    replacedBy: null,
    refreshTokenHash: token.refreshTokenHash,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: token.expiresAt,
    revokedAt: null,
    userAgent: token.userAgent,
    ip: token.ip,
    amr: token.amr ?? null,
    kind: token.kind ?? "api",
    clientId: token.clientId ?? null,
    scope: token.scope ?? null,
    resource: token.resource ?? null,
    authTime: token.authTime ?? null,
    codeId: token.codeId ?? null,
  } satisfies RowOf<typeof sessions>;
}

/** The two statements of a rotation, to run in one batch: mark the live row matched
 * by `which` as replaced by `next`, then insert `next` as its child. Only one
 * concurrent rotation can match the live row, so only one child comes from it.
 * With `reuse`, the child is also inserted when that row was already rotated, at or
 * after `reuse.since` (the refresh-token reuse interval): a second, single-use branch
 * of the same session for a client that presented the token twice (two tabs, a retry).
 * The insert returns the new row's id when it happened. */
export function rotate(db: Db, which: SQL | undefined, next: NewToken, now: Date, reuse?: { id: string; since: Date }) {
  const reused = reuse
    ? sql` or (${sessions.id} = ${reuse.id} and ${sessions.replacedBy} is not null and ${sessions.revokedAt} is null
        and ${sessions.lastUsedAt} >= ${reuse.since.getTime()} and ${sessions.expiresAt} > ${now.getTime()})`
    : sql``;
  return [
    db
      .update(sessions)
      .set({ replacedBy: next.id, lastUsedAt: now })
      .where(and(which, liveRow(now)))
      .returning({ id: sessions.id }),
    insertRow(
      db,
      sessions,
      {
        id: next.id,
        userId: sessions.userId,
        familyId: sessions.familyId,
        parentId: sessions.id,
        replacedBy: null,
        refreshTokenHash: next.refreshTokenHash,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: next.expiresAt,
        revokedAt: null,
        userAgent: next.userAgent,
        ip: next.ip,
        amr: sessions.amr,
        kind: sessions.kind,
        clientId: sessions.clientId,
        scope: sessions.scope,
        resource: sessions.resource,
        authTime: sessions.authTime,
        codeId: sessions.codeId,
      },
      sql`from ${sessions} where ${sessions.replacedBy} = ${next.id}${reused} limit 1`,
    ).returning({ id: sessions.id }),
  ] as const;
}

/** A refresh token's row with what a new access token needs, or undefined. */
export function findByTokenHash(db: Db, refreshTokenHash: string) {
  return db
    .select({
      id: sessions.id,
      userId: sessions.userId,
      familyId: sessions.familyId,
      replacedBy: sessions.replacedBy,
      revokedAt: sessions.revokedAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
      email: users.email,
      role: users.role,
      disabled: users.disabled,
      emailVerifiedAt: users.emailVerifiedAt,
      amr: sessions.amr,
      kind: sessions.kind,
      clientId: sessions.clientId,
      scope: sessions.scope,
      resource: sessions.resource,
      authTime: sessions.authTime,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.refreshTokenHash, refreshTokenHash))
    .get();
}

/** The user behind a live session (family `sid` of `userId`), or undefined when the
 * session was revoked, rotated away, expired, or the user deleted or disabled. */
export function findLiveSessionUser(db: Db, sid: string, userId: string, now: Date): Promise<User | undefined> {
  return liveSessionUserQuery(db, sid, userId, now).get();
}

/** `findLiveSessionUser` as a batchable query (zero or one row). */
export function liveSessionUserQuery(db: Db, sid: string, userId: string, now: Date) {
  return db
    .select(publicColumns)
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.familyId, sid), eq(sessions.userId, userId), eq(users.disabled, false), liveRow(now)))
    .limit(1);
}

/** Revokes every row of one family of `userId`, returning the rows revoked. Batchable. */
export function revokeFamilyQuery(db: Db, userId: string, familyId: string, now: Date) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, userId), eq(sessions.familyId, familyId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
}

/** Revokes every row of family `familyId` but `keepId`: after a password change, no
 * refresh token issued before it works again, not even within the reuse interval.
 * Batchable. */
export function revokeFamilyBefore(db: Db, familyId: string, keepId: string, now: Date) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.familyId, familyId), ne(sessions.id, keepId), isNull(sessions.revokedAt)));
}

/** Revokes all sessions of `userId`, except family `keep` when given; with `onlyIf`, only
 * when that holds in the batch. */
export function revokeAll(db: Db, userId: string, now: Date, keep?: string, onlyIf?: SQL) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        keep ? ne(sessions.familyId, keep) : undefined,
        onlyIf,
      ),
    );
}

/** The user's live sessions, one per family (the most recently used of its live rows:
 * a family has several when a refresh token was presented again within the reuse
 * interval), with when the family started, least recently used first. */
export async function listLive(db: Db, userId: string, now: Date) {
  const first = alias(sessions, "first");
  const rows = await db
    .select({
      id: sessions.familyId,
      createdAt: first.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
    })
    .from(sessions)
    .innerJoin(first, eq(first.id, sessions.familyId))
    // An OAuth grant's tokens belong to an app, listed by GET /me/oauth/grants.
    .where(and(eq(sessions.userId, userId), liveRow(now), ne(sessions.kind, "oauth")))
    .orderBy(sessions.lastUsedAt);
  // Later rows win, and a Map keeps the position of a key's last set only if it is new:
  // delete first, so each family sits where its latest row does.
  const latest = new Map<string, (typeof rows)[number]>();
  for (const row of rows) {
    latest.delete(row.id);
    latest.set(row.id, row);
  }
  return [...latest.values()];
}

/** The current row of a family that can still be refreshed. */
function liveRow(now: Date) {
  return and(isNull(sessions.replacedBy), isNull(sessions.revokedAt), gt(sessions.expiresAt, now));
}
