import type { Ctx } from "../platform/context";
import { ApiError } from "../platform/errors";
import { consumeSingleUse, endIfSpent, singleUseHash } from "../platform/single-use";
import { assertNotLocked, failureEvents } from "./lockout";
import { pendingLoginQueries, useRecoveryCode } from "./queries/factors";
import { nextFailure, recordFailure } from "./queries/failures";
import type { FamilyKind } from "./queries/sessions";
import { acceptCode } from "./second-factors";
import type { RefreshTransport } from "./sessions";
import { firstFactorOf, MFA_MAX_ATTEMPTS, MFA_PURPOSE, recordedKind, signIn } from "./sign-in";
import { recoveryCodeHash } from "./totp";
import { verifyPasskeyForMfa } from "./webauthn";

// The second step of a login, one implementation for `POST /login/mfa` and the
// authorization server's second-factor page at `/oauth/authorize`.

export type MfaAnswer = {
  mfa_token: string;
  code?: string;
  recovery_code?: string;
  webauthn?: Record<string, unknown>;
  refresh_transport: RefreshTransport;
};

/**
 * The second step of a login: the `mfa_token` of the first step's 403 and one answer (a
 * TOTP code, a recovery code or a passkey assertion). Every answer takes one of the token's 5
 * attempts before it is checked (concurrent guesses get no more); a wrong fifth kills it.
 * A wrong answer also costs the email one failed login, audited as
 * `mfa_failed`. Right, the token is spent and the sign-in ends in the session, its `amr`
 * the first factor the token remembers plus the second (`["pwd","otp","mfa"]`). The
 * token must have been minted for the same kind of session as `family` asks (an API
 * login's token does not finish an authorization server's sign-in, nor the reverse).
 * Errors: 400 `invalid_credentials`, 429 `rate_limited` (the lockout).
 */
export async function completeSecondStep(ctx: Ctx, answer: MfaAnswer, family?: FamilyKind) {
  const { config, db, now, source } = ctx;
  const hash = await singleUseHash(answer.mfa_token);
  if (!hash) throw new ApiError("invalid_credentials");
  // One round trip reads the token, its user, the email's failures and the TOTP factor.
  const [[pending], [user], [record], [factor]] = await db.batch(pendingLoginQueries(db, hash, MFA_MAX_ATTEMPTS, now));
  if (!pending || !user || user.id !== pending.userId || user.disabled) throw new ApiError("invalid_credentials");
  if (recordedKind(pending) !== (family?.kind ?? "api")) throw new ApiError("invalid_credentials");
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
    family,
  });
}
