import type { Ctx } from "../platform/context";
import type { Db } from "../platform/db";
import { ApiError } from "../platform/errors";
import { auditIfChanged, userEvent } from "./audit";
import { type Check, countedCheck, type RecheckPurpose } from "./lockout";
import { findTotp, replaceRecoveryCodes, useRecoveryCode, useTotpStep } from "./queries/factors";
import type { User } from "./queries/users";
import { decryptTotpSecret, matchingStep, newRecoveryCodes, recoveryCodeHash } from "./totp";

// The checks of TOTP and recovery codes against the database, shared by the TOTP
// routes, the login's second step and passkey deletion.

type TotpRow = NonNullable<Awaited<ReturnType<typeof findTotp>>>;

/** The step `code` matches for the user's TOTP factor (confirmed or pending, as asked),
 * or undefined. `known` when the caller has read the factor already. */
async function totpStep(
  db: Db,
  mfaKey: string,
  userId: string,
  code: string,
  confirmed: boolean,
  now: Date,
  known?: TotpRow | null,
) {
  const factor = known === undefined ? await findTotp(db, userId) : known;
  if (!factor || (factor.confirmedAt !== null) !== confirmed) return undefined;
  const secret = await decryptTotpSecret(mfaKey, userId, factor.secretCiphertext);
  return matchingStep(secret, code, now);
}

/** Which factor a typed code is for: six digits are a TOTP code, anything else a
 * recovery code (`acceptCode` decides the same way). */
export const factorOf = (code: string) => (/^\d{6}$/.test(code.trim()) ? "totp" : "recovery_code");

/** Accepts a TOTP code (once per time step) or, when `orRecovery`, a recovery code
 * (once). True when one was accepted. `factor` when the caller has read it already. */
export async function acceptCode(
  db: Db,
  mfaKey: string,
  userId: string,
  value: string,
  now: Date,
  orRecovery: boolean,
  factor?: TotpRow | null,
) {
  if (factorOf(value) === "totp") {
    const step = await totpStep(db, mfaKey, userId, value.trim(), true, now, factor);
    return step !== undefined && (await useTotpStep(db, userId, step, now)).length > 0;
  }
  if (!orRecovery) return false;
  const hash = await recoveryCodeHash(value);
  return hash !== undefined && (await useRecoveryCode(db, userId, hash, now)).length > 0;
}

/** A second factor of the signed-in user as a `Check` for `purpose`: a TOTP code or, when
 * `orRecovery`, a recovery code, spent when right; audited as `mfa_failed` with the
 * factor and the purpose, never the code. */
export function secondFactorCheck(
  ctx: Ctx,
  user: User,
  code: string,
  purpose: RecheckPurpose,
  { orRecovery }: { orRecovery: boolean },
): Check {
  const { config, db } = ctx;
  return {
    failure: { type: "mfa_failed", details: { factor: factorOf(code), purpose } },
    check: () => acceptCode(db, config.mfaKey, user.id, code, new Date(), orRecovery),
  };
}

/**
 * Spends a TOTP code of the signed-in user, then replaces the recovery codes with ten
 * new ones (the old set dies) and returns them, plain, to be shown once: the end of
 * `POST /me/mfa/totp/confirm` (`confirming`) and of `POST /me/mfa/recovery-codes`.
 * When `confirming`, the code must be of the enrolment waiting for confirmation (none
 * waiting: 400 `invalid_input`), which it confirms and audits as `mfa_enabled` in the
 * same write; otherwise it must be of the confirmed factor. A wrong code, or one of a
 * step already used: 400 `invalid_credentials`, counted like a login (`countedCheck`).
 */
export async function spendTotpForRecoveryCodes(
  ctx: Ctx,
  user: User,
  code: string,
  { confirming }: { confirming: boolean },
): Promise<string[]> {
  const { config, db, source } = ctx;
  const factor = await findTotp(db, user.id);
  if (confirming && (!factor || factor.confirmedAt !== null)) {
    throw new ApiError("invalid_input", "No TOTP enrolment is waiting: POST /me/mfa/totp first");
  }
  const purpose = confirming ? "confirm_totp" : "regenerate_recovery_codes";
  await countedCheck(ctx, user, {
    failure: { type: "mfa_failed", details: { factor: "totp", purpose } },
    check: async () => {
      const now = new Date();
      const step = await totpStep(db, config.mfaKey, user.id, code.trim(), !confirming, now, factor ?? null);
      if (step === undefined) return false;
      const use = useTotpStep(db, user.id, step, now, confirming);
      const event = userEvent("mfa_enabled", user.id, source, { method: "totp" });
      // Confirming turns TOTP on: audited in the same write, only if the factor row changed.
      const [used] = confirming ? await db.batch(auditIfChanged(db, use, event, now)) : [await use];
      return used.length > 0;
    },
  });
  return issueRecoveryCodes(db, user.id, new Date());
}

/** Ten new recovery codes for the user (the old set dies); the plain codes, shown once. */
async function issueRecoveryCodes(db: Db, userId: string, now: Date): Promise<string[]> {
  const codes = newRecoveryCodes();
  const hashes = await Promise.all(codes.map(async (value) => (await recoveryCodeHash(value)) ?? ""));
  await db.batch(replaceRecoveryCodes(db, userId, hashes, now));
  return codes;
}
