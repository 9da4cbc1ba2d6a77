import { and, eq, isNotNull, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../../platform/db";
import { loginFailures, passkeys, recoveryCodes, singleUseTokens, totpFactors, users } from "../../platform/schema";
import { takeAttempt } from "../../platform/single-use";
import { publicColumns } from "./users";

/** The second factors of an account, as `/me` and the admin API show them (never secrets). */
export type FactorSummary = { totp: boolean; passkeys: number; recovery_codes: number };

const countsOf = (userId: ReturnType<typeof sql>) => ({
  totp: sql<number>`(select count(*) from ${totpFactors} where ${totpFactors.userId} = ${userId} and ${totpFactors.confirmedAt} is not null)`,
  passkeys: sql<number>`(select count(*) from ${passkeys} where ${passkeys.userId} = ${userId})`,
  recoveryCodes: sql<number>`(select count(*) from ${recoveryCodes} where ${recoveryCodes.userId} = ${userId} and ${recoveryCodes.usedAt} is null)`,
});

type Counts = { totp: number; passkeys: number; recoveryCodes: number };

/** `FactorSummary` from the counts row. */
export function summary(counts: Counts | undefined): FactorSummary {
  return {
    totp: (counts?.totp ?? 0) > 0,
    passkeys: counts?.passkeys ?? 0,
    recovery_codes: counts?.recoveryCodes ?? 0,
  };
}

/** The factors of `userId`. */
export async function findFactors(db: Db, userId: string): Promise<FactorSummary> {
  return summary((await factorsQuery(db, userId))[0]);
}

/** The factor counts of `userId` as a batchable query; `summary` reads its row. */
export function factorsQuery(db: Db, userId: string) {
  return db
    .select(countsOf(sql`${userId}`))
    .from(users)
    .where(eq(users.id, userId));
}

/** The factor counts of the account with `email`, batchable with the login's user lookup. */
export function findFactorsByEmail(db: Db, email: string) {
  return db
    .select(countsOf(sql`${users.id}`))
    .from(users)
    .where(eq(users.email, email));
}

/** What `/login` offers in `mfa_methods`, in a fixed order; empty when no factor is enrolled. */
export function mfaMethods(factors: FactorSummary): string[] {
  const methods: string[] = [];
  if (factors.totp) methods.push("totp");
  if (factors.passkeys > 0) methods.push("webauthn");
  if (factors.recovery_codes > 0 && (factors.totp || factors.passkeys > 0)) methods.push("recovery_code");
  return methods;
}

/** The TOTP row of `userId`, confirmed or not. */
export function findTotp(db: Db, userId: string) {
  return db.select().from(totpFactors).where(eq(totpFactors.userId, userId)).get();
}

/** Starts (or restarts) an unconfirmed enrolment; a confirmed factor is left alone, so
 * the caller checks the returned rows: none means TOTP is already on. */
export function upsertPendingTotp(db: Db, userId: string, secretCiphertext: string, now: Date) {
  return db
    .insert(totpFactors)
    .values({ userId, secretCiphertext, createdAt: now })
    .onConflictDoUpdate({
      target: totpFactors.userId,
      set: { secretCiphertext, createdAt: now, lastUsedStep: null },
      setWhere: isNull(totpFactors.confirmedAt),
    })
    .returning({ userId: totpFactors.userId });
}

/** Records that a code of `step` was accepted, only if no code of that step or a later
 * one was: of two requests with the same code, one gets the row, the other none
 * (replay). With `confirm`, also marks the factor confirmed. Batchable. */
export function useTotpStep(db: Db, userId: string, step: number, now: Date, confirm = false) {
  return db
    .update(totpFactors)
    .set({ lastUsedStep: step, ...(confirm && { confirmedAt: now }) })
    .where(
      and(
        eq(totpFactors.userId, userId),
        confirm ? isNull(totpFactors.confirmedAt) : isNotNull(totpFactors.confirmedAt),
        or(isNull(totpFactors.lastUsedStep), lt(totpFactors.lastUsedStep, step)),
      ),
    )
    .returning({ userId: totpFactors.userId });
}

/** Removes the TOTP factor. Batchable. */
export function deleteTotp(db: Db, userId: string) {
  return db.delete(totpFactors).where(eq(totpFactors.userId, userId));
}

/** Replaces the user's recovery codes with `hashes` (old ones die). Batch both. */
export function replaceRecoveryCodes(db: Db, userId: string, hashes: string[], now: Date) {
  return [
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db
      .insert(recoveryCodes)
      .values(hashes.map((codeHash) => ({ id: crypto.randomUUID(), userId, codeHash, createdAt: now }))),
  ] as const;
}

/** Uses one recovery code: one conditional UPDATE, so a code works once. Returns the
 * rows it used (one, or none for an unknown or used code). */
export function useRecoveryCode(db: Db, userId: string, codeHash: string, now: Date) {
  return db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id });
}

/** Deletes the user's recovery codes once no TOTP factor or passkey is left for them
 * to stand in for. Batch it after the delete of a factor. */
export function deleteOrphanRecoveryCodes(db: Db, userId: string) {
  return db
    .delete(recoveryCodes)
    .where(
      and(
        eq(recoveryCodes.userId, userId),
        sql`not exists (select 1 from ${totpFactors} where ${totpFactors.userId} = ${userId})`,
        sql`not exists (select 1 from ${passkeys} where ${passkeys.userId} = ${userId})`,
      ),
    );
}

/** Every second factor of the user (the admin reset, a recovered address), an enrolment
 * waiting for its code included; with `onlyIf`, only when that holds in the batch. Batch
 * them. */
export function deleteAllFactors(db: Db, userId: string, onlyIf?: SQL) {
  return [
    db.delete(totpFactors).where(and(eq(totpFactors.userId, userId), onlyIf)),
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), onlyIf)),
    db.delete(passkeys).where(and(eq(passkeys.userId, userId), onlyIf)),
  ] as const;
}

/** True in SQL while `userId` has a second factor of any kind (a TOTP enrolment waiting
 * for its code counts). */
export function hasFactors(userId: string): SQL {
  return sql`(exists (select 1 from ${totpFactors} where ${totpFactors.userId} = ${userId})
    or exists (select 1 from ${recoveryCodes} where ${recoveryCodes.userId} = ${userId})
    or exists (select 1 from ${passkeys} where ${passkeys.userId} = ${userId}))`;
}

/** Everything `/login/mfa` reads, by the mfa_token's hash, for one batch (one round
 * trip): the live token row with one of its `maxAttempts` tries taken before the answer
 * is checked (`takeAttempt`: empty when none is left), its user, the email's failure
 * record, the TOTP factor. The last three are only meaningful when the first is not empty. */
export function pendingLoginQueries(db: Db, tokenHash: string, maxAttempts: number, now: Date) {
  const owner = sql`(select ${singleUseTokens.userId} from ${singleUseTokens} where ${singleUseTokens.tokenHash} = ${tokenHash})`;
  return [
    takeAttempt(db, tokenHash, "mfa_login", maxAttempts, now),
    db.select(publicColumns).from(users).where(eq(users.id, owner)),
    db
      .select()
      .from(loginFailures)
      .where(eq(loginFailures.email, sql`(select ${users.email} from ${users} where ${users.id} = ${owner})`)),
    db.select().from(totpFactors).where(eq(totpFactors.userId, owner)),
  ] as const;
}
