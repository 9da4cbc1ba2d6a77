import { and, eq, sql } from "drizzle-orm";
import type { LockoutPolicy } from "../../platform/config";
import type { Db } from "../../platform/db";
import { loginFailures, users } from "../../platform/schema";

/** A run of failures older than this is forgotten. */
export const FORGET_AFTER_MS = 24 * 3600 * 1000;

export type FailureRecord = typeof loginFailures.$inferSelect;

/** The failure record of `email`, batchable with the user lookup. */
export function findFailures(db: Db, email: string) {
  return db.select().from(loginFailures).where(eq(loginFailures.email, email));
}

/** Seconds until `record` unlocks, or 0 when the email may try now. */
export function lockedFor(record: FailureRecord | undefined, now: Date): number {
  const until = record?.lockedUntil?.getTime() ?? 0;
  return until > now.getTime() ? Math.ceil((until - now.getTime()) / 1000) : 0;
}

/** The failure count after one more failure, and the seconds that failure locks the email for (0: none). */
export function nextFailure(previous: FailureRecord | undefined, policy: LockoutPolicy, now: Date) {
  const stale = !previous || now.getTime() - previous.lastFailureAt.getTime() > FORGET_AFTER_MS;
  const failures = (stale ? 0 : previous.failures) + 1;
  const over = failures - policy.after;
  const lockSeconds = over >= 0 ? Math.min(policy.baseSeconds * 2 ** Math.min(over, 30), policy.maxSeconds) : 0;
  return { stale, failures, lockSeconds };
}

/** Counts one more failure for `email` and locks it when the policy says so. */
export function recordFailure(
  db: Db,
  email: string,
  previous: FailureRecord | undefined,
  policy: LockoutPolicy,
  now: Date,
) {
  const { stale, failures, lockSeconds } = nextFailure(previous, policy, now);
  const lockedUntil = lockSeconds > 0 ? new Date(now.getTime() + lockSeconds * 1000) : null;
  // An upsert, so concurrent failures for one email add up instead of overwriting.
  return db
    .insert(loginFailures)
    .values({ email, failures, lastFailureAt: now, lockedUntil })
    .onConflictDoUpdate({
      target: loginFailures.email,
      set: { failures: stale ? 1 : sql`${loginFailures.failures} + 1`, lastFailureAt: now, lockedUntil },
    });
}

/** Forgets the failures of `email`; with `ifUserId`, only if that user now exists
 * (a registration that lost to the UNIQUE index must not reset a lockout). Batchable. */
export function clearFailures(db: Db, email: string, ifUserId?: string) {
  const owner =
    ifUserId === undefined ? undefined : sql`exists (select 1 from ${users} where ${users.id} = ${ifUserId})`;
  return db.delete(loginFailures).where(and(eq(loginFailures.email, email), owner));
}
