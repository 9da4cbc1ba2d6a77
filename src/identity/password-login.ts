import type { Ctx } from "../platform/context";
import { ApiError } from "../platform/errors";
import { MAX_EMAIL_LENGTH } from "../platform/fields";
import { assertNotLocked, failureEvents } from "./lockout";
import { checkPassword, hashPassword } from "./passwords";
import { findFactorsByEmail, mfaMethods, summary } from "./queries/factors";
import { findFailures, nextFailure, recordFailure } from "./queries/failures";
import type { FamilyKind } from "./queries/sessions";
import { findUserWithHash, rehashPassword } from "./queries/users";
import type { RefreshTransport } from "./sessions";
import { assertMaySignIn, signIn } from "./sign-in";

// The password login, one implementation for every page or route that takes an email and
// a password: `POST /login` (the API's own session) and the authorization server's login
// page at `/oauth/authorize` (a session of kind `authorization_server`). Same lockout,
// same bcrypt work for known and unknown addresses, same audit, same second-factor gate.

export type PasswordLogin = {
  email: string;
  password: string;
  transport: RefreshTransport;
  /** The session to start when not the API's own (src/identity/queries/sessions.ts). */
  family?: FamilyKind;
};

/**
 * The password login: the email's lockout (429 whatever the password), the password
 * checked with the same bcrypt work for a known or unknown address, a failure counted
 * and audited (for an existing account), then the sign-in gate (`signIn`): the account's
 * rules, the second factor (403 mfa_required), the session with `amr: ["pwd"]`. A hash
 * made at another cost, or of a non-NFC form, is upgraded in the same write as what
 * follows (the mfa_token or the session): an account with a second factor is upgraded
 * too, or it never would be. Errors: 400 `invalid_credentials` (unknown email, wrong
 * password, disabled account), 429 `rate_limited`, 403 `email_not_verified`, 403
 * `mfa_required`.
 */
export async function passwordLogin(ctx: Ctx, { email, password, transport, family }: PasswordLogin) {
  const { config, db, now, source } = ctx;
  // Oversized emails can match no account and get no failure record.
  const known = email.length <= MAX_EMAIL_LENGTH;
  const [users, failures, factors] = known
    ? await db.batch([findUserWithHash(db, email), findFailures(db, email), findFactorsByEmail(db, email)])
    : [[], [], []];
  const [user] = users;
  const [record] = failures;
  // Locked emails, registered or not, get the same 429 whatever the password.
  assertNotLocked(record, now);
  // Known or unknown email, the check spends the same bcrypt work for the same input,
  // so timing says nothing about whether the email exists.
  const { valid, rehash } = await checkPassword(password, user?.passwordHash, config.bcryptCost, {
    imported: user?.passwordImported,
  });
  // A disabled account gets the wrong-password answer, after the same work.
  if (!user || !valid || user.disabled) {
    // Audited only for existing accounts (an attempted unknown address is never
    // stored), in the same write as the failure count.
    const { lockSeconds } = nextFailure(record, config.lockout, now);
    const reason = user?.disabled ? "account_disabled" : "wrong_password";
    const failure = { type: "login_failed", details: { reason } } as const;
    const audit = user ? failureEvents(db, user.id, failure, lockSeconds, source, now) : [];
    if (known) await db.batch([recordFailure(db, email, record, config.lockout, now), ...audit]);
    throw new ApiError("invalid_credentials");
  }
  // Before the rehash's bcrypt work: an account that may not sign in gets no upgrade.
  assertMaySignIn(config, user);
  const rehashed = rehash ? [rehashPassword(db, user.id, await hashPassword(password, config.bcryptCost), now)] : [];
  return signIn(ctx, {
    user,
    amr: ["pwd"],
    transport,
    secondFactors: mfaMethods(summary(factors[0])),
    also: rehashed,
    clearFailures: record !== undefined,
    family,
  });
}
