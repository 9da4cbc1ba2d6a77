import { auditIfChanged, userEvent } from "../../identity/audit";
import { assertNotLocked, confirmPassword, countedCheck, failureEvents, passwordCheck } from "../../identity/lockout";
import {
  deleteOrphanRecoveryCodes,
  deleteTotp,
  findTotp,
  pendingLoginQueries,
  upsertPendingTotp,
  useRecoveryCode,
} from "../../identity/queries/factors";
import { nextFailure, recordFailure } from "../../identity/queries/failures";
import type { User } from "../../identity/queries/users";
import { acceptCode, secondFactorCheck } from "../../identity/second-factors";
import type { RefreshTransport } from "../../identity/sessions";
import { firstFactorOf, MFA_MAX_ATTEMPTS, MFA_PURPOSE, signIn } from "../../identity/sign-in";
import { encryptTotpSecret, enrolment, newTotpSecret, recoveryCodeHash } from "../../identity/totp";
import { verifyPasskeyForMfa } from "../../identity/webauthn";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";
import { consumeSingleUse, endIfSpent, singleUseHash } from "../../platform/single-use";

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

export type MfaAnswer = {
  mfa_token: string;
  code?: string;
  recovery_code?: string;
  webauthn?: Record<string, unknown>;
  refresh_transport: RefreshTransport;
};

/**
 * The second step of a login: the `mfa_token` of POST /login's 403 and one answer (a TOTP
 * code, a recovery code or a passkey assertion). Every answer takes one of the token's 5
 * attempts before it is checked (concurrent guesses get no more); a wrong fifth kills it.
 * A wrong answer also costs the email one failed login, audited as
 * `mfa_failed`. Right, the token is spent and the sign-in ends in the session, its `amr`
 * the first factor the token remembers plus the second (`["pwd","otp","mfa"]`).
 */
export async function completeMfaLogin(ctx: Ctx, answer: MfaAnswer) {
  const { config, db, now, source } = ctx;
  const hash = await singleUseHash(answer.mfa_token);
  if (!hash) throw new ApiError("invalid_credentials");
  // One round trip reads the token, its user, the email's failures and the TOTP factor.
  const [[pending], [user], [record], [factor]] = await db.batch(pendingLoginQueries(db, hash, MFA_MAX_ATTEMPTS, now));
  if (!pending || !user || user.id !== pending.userId || user.disabled) throw new ApiError("invalid_credentials");
  assertNotLocked(record, now);

  const first = firstFactorOf(pending);
  let second: string[] | undefined;
  if (answer.code !== undefined) {
    if (await acceptCode(db, config.mfaKey, user.id, answer.code, now, false, factor ?? null)) second = ["otp"];
  } else if (answer.recovery_code !== undefined) {
    // RFC 8176 has no value for recovery codes; they are one-time passwords.
    const codeHash = await recoveryCodeHash(answer.recovery_code);
    if (codeHash && (await useRecoveryCode(db, user.id, codeHash, now)).length > 0) second = ["otp"];
  } else if (answer.webauthn !== undefined) {
    const key = await verifyPasskeyForMfa(ctx, user.id, hash, answer.webauthn, now);
    if (key) second = [key];
  }
  if (!second) {
    const factorName =
      answer.code !== undefined ? "totp" : answer.recovery_code !== undefined ? "recovery_code" : "passkey";
    const failure = { type: "mfa_failed", details: { factor: factorName, purpose: "login" } } as const;
    const { lockSeconds } = nextFailure(record, config.lockout, now);
    await db.batch([
      endIfSpent(db, hash, MFA_PURPOSE, MFA_MAX_ATTEMPTS, now),
      recordFailure(db, user.email, record, config.lockout, now),
      ...failureEvents(db, user.id, failure, lockSeconds, source, now),
    ]);
    throw new ApiError("invalid_credentials");
  }
  // Single use: of two requests racing with right answers, one gets the session.
  const [consumed] = await consumeSingleUse(db, hash, MFA_PURPOSE, now);
  if (!consumed) throw new ApiError("invalid_credentials");
  return signIn(ctx, {
    user,
    amr: [...first, ...second, "mfa"],
    transport: answer.refresh_transport,
    clearFailures: record !== undefined,
  });
}
