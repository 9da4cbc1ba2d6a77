import { and, eq, gt, isNull, ne, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Client } from "../auth/sessions";
import type { Db } from "../env";
import { sessions, users } from "./schema";
import { publicColumns, type User } from "./users";

/** A refresh token being recorded: its hash and lifetime, where it came from. */
export type NewToken = Client & { id: string; refreshTokenHash: string; expiresAt: Date };

/** A session's first row (a new family), inserted only if `userId` exists: batched
 * after a user insert that may have lost to the UNIQUE index. */
export function insertFirstToken(db: Db, userId: string, token: NewToken, now: Date) {
  return db
    .insert(sessions)
    .select(
      sql`select ${firstRowValues(token, userId, now)} where exists (select 1 from ${users} where ${users.id} = ${userId})`,
    );
}

/** A session's first row for a user known to exist. */
export function insertSession(db: Db, userId: string, token: NewToken, now: Date) {
  return db.insert(sessions).values({
    ...token,
    userId,
    familyId: token.id,
    parentId: null,
    createdAt: now,
    lastUsedAt: now,
  });
}

/** The two statements of a rotation, to run in one batch: mark the live row matched
 * by `which` as replaced by `next`, then insert `next` as its child. Only one
 * concurrent rotation can match the live row, so only one child is ever inserted. */
export function rotate(db: Db, which: SQL | undefined, next: NewToken, now: Date) {
  return [
    db
      .update(sessions)
      .set({ replacedBy: next.id, lastUsedAt: now })
      .where(and(which, liveRow(now)))
      .returning({ id: sessions.id }),
    db.insert(sessions).select(
      sql`select ${next.id}, ${sessions.userId}, ${sessions.familyId}, ${sessions.id}, null, ${next.refreshTokenHash},
        ${now.getTime()}, ${now.getTime()}, ${next.expiresAt.getTime()}, null, ${next.userAgent}, ${next.ip}
        from ${sessions} where ${sessions.replacedBy} = ${next.id}`,
    ),
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
      expiresAt: sessions.expiresAt,
      email: users.email,
      role: users.role,
      disabled: users.disabled,
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

/** Revokes every row of one family of `userId`; returns how many rows changed. */
export async function revokeFamily(db: Db, userId: string, familyId: string, now: Date): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, userId), eq(sessions.familyId, familyId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length;
}

/** Revokes all sessions of `userId`, except family `keep` when given. */
export function revokeAll(db: Db, userId: string, now: Date, keep?: string) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep ? ne(sessions.familyId, keep) : undefined),
    );
}

/** The user's live sessions, one per family, with when the family started. */
export function listLive(db: Db, userId: string, now: Date) {
  const first = alias(sessions, "first");
  return db
    .select({
      id: sessions.familyId,
      createdAt: first.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
    })
    .from(sessions)
    .innerJoin(first, eq(first.id, sessions.familyId))
    .where(and(eq(sessions.userId, userId), liveRow(now)))
    .orderBy(sessions.lastUsedAt);
}

/** The current row of a family that can still be refreshed. */
function liveRow(now: Date) {
  return and(isNull(sessions.replacedBy), isNull(sessions.revokedAt), gt(sessions.expiresAt, now));
}

/** A new family's first row, in the table's column order, for INSERT ... SELECT. */
function firstRowValues(token: NewToken, userId: string, now: Date): SQL {
  const values = [
    token.id,
    userId,
    token.id, // family_id
    null, // parent_id
    null, // replaced_by
    token.refreshTokenHash,
    now.getTime(),
    now.getTime(),
    token.expiresAt.getTime(),
    null, // revoked_at
    token.userAgent,
    token.ip,
  ];
  return sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  );
}
