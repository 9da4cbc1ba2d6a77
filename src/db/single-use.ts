import { and, eq, gt, isNull, ne, sql } from "drizzle-orm";
import type { Db } from "./client";
import { type SingleUsePurpose, singleUseTokens, users } from "./schema";

export type SingleUseRow = typeof singleUseTokens.$inferSelect;

/** Where a row is still usable at `now`: unused and unexpired. */
const live = (tokenHash: string, purpose: SingleUsePurpose, now: Date) =>
  and(
    eq(singleUseTokens.tokenHash, tokenHash),
    eq(singleUseTokens.purpose, purpose),
    isNull(singleUseTokens.usedAt),
    gt(singleUseTokens.expiresAt, now),
  );

/** Records a single-use token (its hash only). Batchable. */
export function insertSingleUse(db: Db, row: typeof singleUseTokens.$inferInsert) {
  return db.insert(singleUseTokens).values(row);
}

/** Records a token only if its user exists and no token of the same purpose was made
 * since `since` for the same user or the same `target`: a per-recipient cooldown that
 * concurrent requests cannot both pass (one statement decides). Returns `[{ id }]` when
 * the row went in, `[]` otherwise. Batchable (after an insert of the user, say). */
export function insertSingleUseUnlessRecent(
  db: Db,
  row: typeof singleUseTokens.$inferInsert & { userId: string },
  since: Date,
) {
  const target = row.target ?? null;
  return db
    .insert(singleUseTokens)
    .select(
      sql`select ${row.id}, ${row.tokenHash}, ${row.purpose}, ${row.userId}, ${target}, ${row.data ?? null}, 0,
        ${row.createdAt.getTime()}, ${row.expiresAt.getTime()}, null
        where exists (select 1 from ${users} where ${users.id} = ${row.userId})
        and not exists (select 1 from ${singleUseTokens} as recent where recent.purpose = ${row.purpose}
          and (recent.user_id = ${row.userId} or recent.target = ${target})
          and recent.created_at > ${since.getTime()})`,
    )
    .returning({ id: singleUseTokens.id });
}

/** Retires the other unused tokens of `userId` for `purpose`, only if token `keepId` was
 * recorded: batch it after `insertSingleUseUnlessRecent`, so a request refused by the
 * cooldown leaves the earlier link working. */
export function retireOthers(db: Db, userId: string, purpose: SingleUsePurpose, keepId: string, now: Date) {
  return db
    .update(singleUseTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(singleUseTokens.userId, userId),
        eq(singleUseTokens.purpose, purpose),
        isNull(singleUseTokens.usedAt),
        ne(singleUseTokens.id, keepId),
        sql`exists (select 1 from ${singleUseTokens} as kept where kept.id = ${keepId})`,
      ),
    );
}

/** Retires every unused token of `userId` for `purpose`: a new link or challenge makes the
 * older ones dead. Batch it before the insert of the new one. */
export function retireSingleUse(db: Db, userId: string, purpose: SingleUsePurpose, now: Date) {
  return db
    .update(singleUseTokens)
    .set({ usedAt: now })
    .where(
      and(eq(singleUseTokens.userId, userId), eq(singleUseTokens.purpose, purpose), isNull(singleUseTokens.usedAt)),
    );
}

/** Uses the token once: the row it was, or an empty array when it is unknown, of another
 * purpose, expired or already used. One conditional UPDATE, so of two concurrent
 * requests with the same token exactly one gets the row. Batchable. */
export function consumeSingleUse(db: Db, tokenHash: string, purpose: SingleUsePurpose, now: Date) {
  return db
    .update(singleUseTokens)
    .set({ usedAt: now })
    .where(live(tokenHash, purpose, now))
    .returning();
}

/** The live row of a token without using it (to check an answer before consuming). */
export function findSingleUse(db: Db, tokenHash: string, purpose: SingleUsePurpose, now: Date) {
  return db
    .select()
    .from(singleUseTokens)
    .where(live(tokenHash, purpose, now));
}

/** Counts one wrong answer against a live token; the `maxAttempts`-th uses it up.
 * Returns the row as it now is (empty when the token was not live). Batchable. */
export function spendAttempt(db: Db, tokenHash: string, purpose: SingleUsePurpose, maxAttempts: number, now: Date) {
  return db
    .update(singleUseTokens)
    .set({
      attempts: sql`${singleUseTokens.attempts} + 1`,
      usedAt: sql`case when ${singleUseTokens.attempts} + 1 >= ${maxAttempts} then ${now.getTime()} else null end`,
    })
    .where(live(tokenHash, purpose, now))
    .returning();
}
