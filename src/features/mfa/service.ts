import { auditIfChanged, userEvent } from "../../identity/audit";
import { confirmPassword, countedCheck, passwordCheck } from "../../identity/lockout";
import { deleteOrphanRecoveryCodes, deleteTotp, findTotp, upsertPendingTotp } from "../../identity/queries/factors";
import type { User } from "../../identity/queries/users";
import { secondFactorCheck } from "../../identity/second-factors";
import { completeSecondStep, type MfaAnswer } from "../../identity/second-step";
import { encryptTotpSecret, enrolment, newTotpSecret } from "../../identity/totp";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";

/** Starts TOTP enrolment after re-checking the password (counted): the secret, stored
 * encrypted and pending until confirmed; 400 `mfa_already_enabled` when TOTP is on. */
export async function enrolTotp(ctx: Ctx, user: User, password: string) {
  const { config, db } = ctx;
  await confirmPassword(ctx, user, password, "enrol_totp");
  const secret = newTotpSecret();
  const stored = await encryptTotpSecret(config.mfaKey, user.id, secret);
  const rows = await upsertPendingTotp(db, user.id, stored, new Date());
  if (rows.length === 0) throw new ApiError("mfa_already_enabled");
  const { uri, svg } = enrolment(secret, config.appName, user.email);
  return { secret, otpauth_uri: uri, qr_svg: svg };
}

/** Turns TOTP off after one counted check of the password and a current code (a right
 * password does not forget wrong codes sent with it). Recovery codes stay while a passkey
 * still needs them as a fallback. 404 when TOTP is not enabled. */
export async function disableTotp(ctx: Ctx, user: User, { password, code }: { password: string; code: string }) {
  const { db, source } = ctx;
  const factor = await findTotp(db, user.id);
  if (!factor?.confirmedAt) throw new ApiError("not_found", "TOTP is not enabled");
  await countedCheck(
    ctx,
    user,
    passwordCheck(ctx, user, password, "disable_totp"),
    secondFactorCheck(ctx, user, code, "disable_totp", { orRecovery: true }),
  );
  const event = userEvent("mfa_disabled", user.id, source, { method: "totp" });
  await db.batch([
    ...auditIfChanged(db, deleteTotp(db, user.id), event, new Date()),
    deleteOrphanRecoveryCodes(db, user.id),
  ]);
}

export type { MfaAnswer };

/** POST /login/mfa: the identity core's second step (`completeSecondStep`), ending in the
 * API's own session. */
export function completeMfaLogin(ctx: Ctx, answer: MfaAnswer) {
  return completeSecondStep(ctx, answer);
}
