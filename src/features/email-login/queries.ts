import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { publicColumns } from "../../identity/queries/users";
import type { Db } from "../../platform/db";
import { loginFailures, singleUseTokens, users } from "../../platform/schema";

/** The account with `email` (normalized), public columns only. Batchable. */
export function userByEmail(db: Db, email: string) {
  return db.select(publicColumns).from(users).where(eq(users.email, email)).limit(1);
}

/** Takes one try of the live (unused, unexpired) emailed sign-in of the account with
 * `email`, before its code is checked, while it has one of its `maxAttempts` left: a burst
 * of concurrent guesses gets no more tries than that (`takeAttempt` in
 * src/platform/single-use.ts, by address). At most one row, since each request retires
 * the ones before it. Batchable. */
export function takeEmailLoginAttempt(db: Db, email: string, maxAttempts: number, now: Date) {
  const owner = db.select({ id: users.id }).from(users).where(eq(users.email, email));
  return db
    .update(singleUseTokens)
    .set({ attempts: sql`${singleUseTokens.attempts} + 1` })
    .where(
      and(
        eq(singleUseTokens.userId, owner),
        eq(singleUseTokens.purpose, "email_login"),
        isNull(singleUseTokens.usedAt),
        gt(singleUseTokens.expiresAt, now),
        lt(singleUseTokens.attempts, maxAttempts),
        // A request the address's lockout refuses (429) checks nothing, so it takes no try.
        sql`not exists (select 1 from ${loginFailures} where ${loginFailures.email} = ${email}
          and ${loginFailures.lockedUntil} > ${now.getTime()})`,
      ),
    )
    .returning({ id: singleUseTokens.id, tokenHash: singleUseTokens.tokenHash, data: singleUseTokens.data });
}

/** The emailed sign-in a link's token hash names, live or not (for the page of an
 * expired or used link, which offers a new one to the same `redirect_to`). */
export function emailLoginByHash(db: Db, tokenHash: string) {
  return db
    .select({ data: singleUseTokens.data, usedAt: singleUseTokens.usedAt, expiresAt: singleUseTokens.expiresAt })
    .from(singleUseTokens)
    .where(and(eq(singleUseTokens.tokenHash, tokenHash), eq(singleUseTokens.purpose, "email_login")))
    .get();
}
