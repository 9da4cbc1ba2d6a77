import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { singleUseTokens, users } from "../../platform/schema";
import { consumeSingleUse } from "../../platform/single-use";

// The token endpoint's reads of authorization codes: consumed with the user in one round
// trip, and, when that finds nothing live, the row as it is (a second use, RFC 6749 §4.1.2).

/** Uses the code `codeHash` once and reads its user, in one batch: `[consumed rows, user
 * rows]`. The user is read by the code's row, so an unknown code reads no one. */
export function redeemCode(db: Db, codeHash: string, now: Date) {
  return db.batch([consumeSingleUse(db, codeHash, "oauth_code", now), codeUser(db, codeHash)]);
}

/** The user of the code `codeHash` (its row in any state). Batchable. */
export function codeUser(db: Db, codeHash: string) {
  return db
    .select({
      id: users.id,
      email: users.email,
      firstName: users.firstName,
      lastName: users.lastName,
      emailVerifiedAt: users.emailVerifiedAt,
      disabled: users.disabled,
    })
    .from(users)
    .innerJoin(singleUseTokens, eq(singleUseTokens.userId, users.id))
    .where(and(eq(singleUseTokens.tokenHash, codeHash), eq(singleUseTokens.purpose, "oauth_code")))
    .limit(1);
}

/** A code's row whatever its state, and whether a grant was started from it (a session
 * row keeps its id). A used one is being presented again: its first use may still be
 * starting its grant (`startGrant` looks), or it was retired or spent on a refused request. */
export function findCode(db: Db, codeHash: string) {
  return db
    .select({
      id: singleUseTokens.id,
      userId: singleUseTokens.userId,
      target: singleUseTokens.target,
      usedAt: singleUseTokens.usedAt,
      // Written out with table names: drizzle leaves columns unqualified inside `sql`, and
      // an unqualified `id` in the subquery would be the session's own.
      redeemed: sql<number>`exists (select 1 from sessions where sessions.code_id = single_use_tokens.id)`,
    })
    .from(singleUseTokens)
    .where(and(eq(singleUseTokens.tokenHash, codeHash), eq(singleUseTokens.purpose, "oauth_code")))
    .get();
}
