import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db } from "../env";
import { type SingleUsePurpose, singleUseTokens } from "./schema";

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
