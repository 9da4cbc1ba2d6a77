import { auditIfChanged, userEvent } from "../../identity/audit";
import { assertNotLocked, failureEvents } from "../../identity/lockout";
import { checkPassword, hashPassword } from "../../identity/passwords";
import { findFactorsByEmail, mfaMethods, summary } from "../../identity/queries/factors";
import { clearFailures, findFailures, nextFailure, recordFailure } from "../../identity/queries/failures";
import { findUserWithHash, insertUserQuery, rehashPassword } from "../../identity/queries/users";
import { prepareSession, type RefreshTransport } from "../../identity/sessions";
import { assertMaySignIn, signIn } from "../../identity/sign-in";
import { verificationLink } from "../../identity/verification";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";
import { MAX_EMAIL_LENGTH } from "../../platform/fields";

export type Registration = {
  firstName: string;
  lastName: string;
  email: string;
  password: string;
  refresh_transport: RefreshTransport;
};

/**
 * Creates the account and, unless REQUIRE_EMAIL_VERIFICATION holds it back, its first
 * session, in one round trip: the user row; then, only if it won the UNIQUE index, its
 * `user_registered` event, the session row, the verification link (with mail on) and the
 * email's failed-login record (so a stranger's failures can't lock the new owner). 409
 * `user_exists` when the address is taken. Returns the user, the session to deliver (if
 * any) and the verification mail to send after the answer (if any).
 */
export async function register(ctx: Ctx, input: Registration) {
  const { config, db, now, source } = ctx;
  const { firstName, lastName, email, password, refresh_transport } = input;
  const passwordHash = await hashPassword(password, config.bcryptCost);
  const id = crypto.randomUUID();
  const newUser = { id, email, firstName, lastName, role: "user", disabled: false, emailVerifiedAt: null } as const;
  const mailOn = config.mail.transport !== "none";
  const verification = mailOn ? await verificationLink(ctx, { id, email }, 0) : undefined;
  // Until verified, REQUIRE_EMAIL_VERIFICATION gives no session.
  const session = config.mail.requireVerification
    ? undefined
    : await prepareSession(ctx, {
        user: { ...newUser, createdAt: now, updatedAt: now },
        amr: ["pwd"],
        transport: refresh_transport,
        registering: true,
      });
  const event = userEvent("user_registered", id, source);
  const [inserted] = await db.batch([
    ...auditIfChanged(db, insertUserQuery(db, { id, email, firstName, lastName, passwordHash }, now), event, now),
    ...(session?.statements ?? [clearFailures(db, email, id)]),
    ...(verification ? [verification.insert] : []),
  ]);
  const user = inserted[0];
  if (!user) throw new ApiError("user_exists");
  return {
    user,
    started: session ? await session.finish(user) : undefined,
    verificationMail: verification?.mail(user),
  };
}

export type Login = { email: string; password: string; refresh_transport: RefreshTransport };

/**
 * The password login: the email's lockout (429 whatever the password), the password
 * checked with the same bcrypt work for a known or unknown address, a failure counted
 * and audited (for an existing account), then the sign-in gate (`signIn`): the account's
 * rules, the second factor (403 mfa_required), the session with `amr: ["pwd"]`. A hash
 * made at another cost, or of a non-NFC form, is upgraded in the same write as what
 * follows (the mfa_token or the session): an account with a second factor is upgraded
 * too, or it never would be.
 */
export async function login(ctx: Ctx, { email, password, refresh_transport }: Login) {
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
    transport: refresh_transport,
    secondFactors: mfaMethods(summary(factors[0])),
    also: rehashed,
    clearFailures: record !== undefined,
  });
}
