import { and, eq, gt, isNull } from "drizzle-orm";
import { publicColumns } from "../../identity/queries/users";
import type { Db } from "../../platform/db";
import { singleUseTokens, users } from "../../platform/schema";

/** The account with `email` (normalized), public columns only. Batchable. */
export function userByEmail(db: Db, email: string) {
  return db.select(publicColumns).from(users).where(eq(users.email, email)).limit(1);
}

/** The live (unused, unexpired) emailed sign-in of the account with `email`: at most one,
 * since each request retires the ones before it. Through the (user_id, purpose) index.
 * Batchable. */
export function liveEmailLogin(db: Db, email: string, now: Date) {
  return db
    .select({ id: singleUseTokens.id, tokenHash: singleUseTokens.tokenHash, data: singleUseTokens.data })
    .from(singleUseTokens)
    .innerJoin(users, eq(users.id, singleUseTokens.userId))
    .where(
      and(
        eq(users.email, email),
        eq(singleUseTokens.purpose, "email_login"),
        isNull(singleUseTokens.usedAt),
        gt(singleUseTokens.expiresAt, now),
      ),
    )
    .limit(1);
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
