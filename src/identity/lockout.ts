import type { Ctx } from "../platform/context";
import type { Db } from "../platform/db";
import { ApiError } from "../platform/errors";
import { type AuditDetails, type AuditSource, auditEvent } from "./audit";
import { checkPassword } from "./passwords";
import {
  clearFailures,
  type FailureRecord,
  findFailures,
  lockedFor,
  nextFailure,
  recordFailure,
} from "./queries/failures";
import { findPasswordHash, type User } from "./queries/users";

// The account lockout every secret check counts toward: a login's password
// (routes/auth.ts), its second step (routes/mfa.ts), and the password or second factor
// a signed-in route asks for again (`countedCheck`). One failure record per email
// (src/identity/queries/failures.ts), one policy (LOCKOUT_AFTER, LOCKOUT_BASE, LOCKOUT_MAX).

/** Throws 429 `rate_limited` + Retry-After while `record` locks its email: then even the
 * right secret is refused, so a locked account is no oracle. */
export function assertNotLocked(record: FailureRecord | undefined, now: Date): void {
  const wait = lockedFor(record, now);
  if (wait > 0) {
    throw new ApiError("rate_limited", "Too many failed attempts for this account, try again later", undefined, {
      "Retry-After": String(wait),
    });
  }
}

/** A failed check as the audit log records it: what failed and a few details (never the
 * secret: which factor, which route). */
export type Failure = {
  type: "login_failed" | "password_check_failed" | "mfa_failed" | "email_login_failed";
  details: AuditDetails;
};

/** The audit events of a failed check of an existing account: the failure, and the lock
 * it causes when it does (`account_locked`, with its seconds). Batch them with the
 * `recordFailure` that counts it. */
export function failureEvents(
  db: Db,
  userId: string,
  failure: Failure,
  lockSeconds: number,
  source: AuditSource,
  now: Date,
) {
  const event = { userId, actor: { type: "user", id: userId }, source } as const;
  return [
    auditEvent(db, { ...event, type: failure.type, details: failure.details }, now),
    ...(lockSeconds > 0
      ? [auditEvent(db, { ...event, type: "account_locked", details: { seconds: lockSeconds } }, now)]
      : []),
  ];
}

/** Why a signed-in route re-checks a secret, as the audit details name it. */
export type RecheckPurpose =
  | "change_password"
  | "delete_account"
  | "change_email"
  | "enrol_totp"
  | "confirm_totp"
  | "disable_totp"
  | "regenerate_recovery_codes"
  | "delete_passkey";

/** One secret a signed-in route re-checks: how its failure is audited, and the check. */
export type Check = { failure: Failure; check: () => Promise<boolean> };

/**
 * Runs `checks` (the password and/or second factor a signed-in route asks for again), in
 * order, counted like a login: first the per-IP limit (LOGIN_RATE_LIMIT), then the
 * account's lockout (429 while locked, whatever the secrets). The first check that fails
 * counts toward the lockout of the account's email and is audited (its `failure`, plus
 * `account_locked` when it locks), then answers 400 `invalid_credentials`. Only when
 * every check passed are the email's failures forgotten, as a login forgets them only
 * after its last factor: a right password must not wipe the count of wrong codes sent
 * with it. Every signed-in re-check goes through here, so none can be an unlimited
 * oracle for a stolen access token.
 */
export async function countedCheck(ctx: Ctx, user: User, ...checks: Check[]): Promise<void> {
  const { config, db, source } = ctx;
  await ctx.limit("LOGIN_RATE_LIMIT");
  const [record] = await findFailures(db, user.email);
  assertNotLocked(record, new Date());
  for (const { failure, check } of checks) {
    if (await check()) continue;
    const now = new Date();
    const { lockSeconds } = nextFailure(record, config.lockout, now);
    await db.batch([
      recordFailure(db, user.email, record, config.lockout, now),
      ...failureEvents(db, user.id, failure, lockSeconds, source, now),
    ]);
    throw new ApiError("invalid_credentials");
  }
  if (record) await clearFailures(db, user.email);
}

/** The account password as a `Check` for `purpose` (audited as `password_check_failed`).
 * No rehash here: a password change replaces the hash anyway, and the next login
 * upgrades an outdated one. */
export function passwordCheck(ctx: Ctx, user: User, password: string, purpose: RecheckPurpose): Check {
  const { config, db } = ctx;
  return {
    failure: { type: "password_check_failed", details: { purpose } },
    check: async () => {
      const stored = await findPasswordHash(db, user.id);
      const imported = stored?.passwordImported;
      return (await checkPassword(password, stored?.passwordHash, config.bcryptCost, { imported })).valid;
    },
  };
}

/** Re-checks the account password before a sensitive change (`purpose`), counted
 * (`countedCheck`); wrong is 400 `invalid_credentials`. */
export function confirmPassword(ctx: Ctx, user: User, password: string, purpose: RecheckPurpose): Promise<void> {
  return countedCheck(ctx, user, passwordCheck(ctx, user, password, purpose));
}
