import { auditIfChanged, userEvent } from "../../identity/audit";
import { confirmPassword } from "../../identity/lockout";
import { hashPassword } from "../../identity/passwords";
import { clearFailures } from "../../identity/queries/failures";
import { revokeAll } from "../../identity/queries/sessions";
import {
  changeEmail,
  findEmail,
  findUser,
  findUserByEmail,
  markVerified,
  setPasswordHash,
  type User,
} from "../../identity/queries/users";
import { distrustFactorsOfUnprovenAddress } from "../../identity/recovery";
import { retireFor } from "../../identity/retirement";
import { verificationLink } from "../../identity/verification";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";
import { MAX_EMAIL_LENGTH } from "../../platform/fields";
import type { Message } from "../../platform/mail/send";
import { changeEmailMail, changeRequestedMail, linkTo, resetPasswordMail } from "../../platform/mail/templates";
import { consumeSingleUse, mintMailToken, retireOthers, singleUseHash } from "../../platform/single-use";

// The flows of mailed links: verify an address, reset a password, move to another
// address. Each link is a single-use row (src/platform/single-use.ts) consumed once by
// `consumeLink`. Mails are returned, not sent: the routes send them after the answer.

/** A reset link works for one hour; an email-change link too. */
export const RESET_TTL_SECONDS = 3600;
export const CHANGE_TTL_SECONDS = 3600;

type LinkPurpose = "verify_email" | "change_email" | "reset_password";

/** Consumes a link's token of `purpose`: the row (with its user and the address it went
 * to), or 400 `invalid_link`. */
export async function consumeLink(ctx: Ctx, token: string, purpose: LinkPurpose) {
  const tokenHash = await singleUseHash(token);
  const [row] = tokenHash ? await consumeSingleUse(ctx.db, tokenHash, purpose, ctx.now) : [];
  if (!row?.userId || !row.target) throw new ApiError("invalid_link");
  return { ...row, userId: row.userId, target: row.target };
}

/** Verifies the address a link went to, while the account still has it and is enabled;
 * the first proof of the address removes the factors enrolled before it (see
 * distrustFactorsOfUnprovenAddress). The account, or 400 `invalid_link`. */
export async function verifyEmail(ctx: Ctx, token: string): Promise<User> {
  const { db, now, source } = ctx;
  const row = await consumeLink(ctx, token, "verify_email");
  const event = userEvent("email_verified", row.userId, source);
  const distrust = distrustFactorsOfUnprovenAddress(db, row.userId, row.target, source, now);
  const verified = markVerified(db, row.userId, row.target, now);
  const results = await db.batch([...distrust, ...auditIfChanged(db, verified, event, now)]);
  const [user] = results[distrust.length] as Awaited<typeof verified>;
  if (!user) throw new ApiError("invalid_link");
  return user;
}

/** A new verification link for `user` (older ones die), unless one went out within
 * MAIL_COOLDOWN: the mail to send, or undefined. */
export async function resendVerification(ctx: Ctx, user: User): Promise<Message | undefined> {
  const { config, db, now } = ctx;
  const verification = await verificationLink(ctx, user, config.mail.cooldownSeconds);
  const [inserted] = await db.batch([
    verification.insert,
    retireOthers(db, user.id, "verify_email", verification.id, now),
  ]);
  return inserted.length > 0 ? verification.mail(user) : undefined;
}

/** Re-checks the password (counted) before an email change is asked; then refuses the
 * account's own address (400). */
export async function checkEmailChange(ctx: Ctx, user: User, newEmail: string, password: string) {
  await confirmPassword(ctx, user, password, "change_email");
  if (newEmail === user.email) throw new ApiError("invalid_input", "newEmail is already the account's address");
}

/** After the answer: a confirmation link to `newEmail` (1 hour) and a notice to the
 * current address, unless another account has the address or a link went out within
 * MAIL_COOLDOWN. The session that asked (`sid`) keeps going after the change. */
export async function requestEmailChange(ctx: Ctx, user: User, newEmail: string, sid: string | null) {
  const { config, db, now } = ctx;
  if (await findUserByEmail(db, newEmail)) return [];
  const options = {
    userId: user.id,
    ttlSeconds: CHANGE_TTL_SECONDS,
    target: newEmail,
    cooldownSeconds: config.mail.cooldownSeconds,
    data: { sid },
  };
  const { value, id, insert } = await mintMailToken(db, "change_email", options, now);
  const [inserted] = await db.batch([insert, retireOthers(db, user.id, "change_email", id, now)]);
  if (inserted.length === 0) return [];
  const link = linkTo(config.mail, "/email/change/confirm", value);
  return [
    { kind: "change_email", mail: changeEmailMail(config.appName, user, newEmail, link, CHANGE_TTL_SECONDS) },
    { kind: "email_change_notice", mail: changeRequestedMail(config.appName, user) },
  ] as const;
}

/** Moves the account to the link's address, verified; every other session ends and every
 * flow in flight dies (RETIRED_BY.email_changed). The account before and after; 400
 * `invalid_link` for a disabled account, 409 `user_exists` when the address was taken. */
export async function confirmEmailChange(ctx: Ctx, token: string) {
  const { db, now, source } = ctx;
  const row = await consumeLink(ctx, token, "change_email");
  const event = userEvent("email_changed", row.userId, source);
  // No details: neither address is needed to tell what happened, and the link never is.
  const [[before], [after]] = await db.batch([
    findEmail(db, row.userId),
    ...auditIfChanged(db, changeEmail(db, row.userId, row.target, now), event, now),
  ]);
  // A disabled account's links prove nothing (its rows were retired with it; this
  // holds for one disabled straight in D1 too).
  if (!before || before.disabled) throw new ApiError("invalid_link");
  if (!after) throw new ApiError("user_exists");
  const keep = sidOf(row.data);
  await db.batch([revokeAll(db, row.userId, now, keep), ...retireFor(db, "email_changed", row.userId, now)]);
  return { before, after };
}

function sidOf(data: string | null): string | undefined {
  try {
    const sid = data ? (JSON.parse(data) as { sid?: unknown }).sid : undefined;
    return typeof sid === "string" && sid !== "" ? sid : undefined;
  } catch {
    return undefined;
  }
}

/** After the answer: a reset link (1 hour) for a known, enabled account, unless one went
 * out within MAIL_COOLDOWN (the earlier link still works); unknown addresses get nothing. */
export async function forgotPassword(ctx: Ctx, email: string): Promise<Message | undefined> {
  const { config, db, now, source } = ctx;
  if (email.length > MAX_EMAIL_LENGTH) return undefined;
  const user = await findUserByEmail(db, email);
  if (!user || user.disabled) return undefined;
  const options = {
    userId: user.id,
    ttlSeconds: RESET_TTL_SECONDS,
    target: user.email,
    cooldownSeconds: config.mail.cooldownSeconds,
  };
  const { value, id, insert } = await mintMailToken(db, "reset_password", options, now);
  const event = userEvent("password_reset_requested", user.id, source);
  // The event only when the link went in.
  const [inserted] = await db.batch([
    ...auditIfChanged(db, insert, event, now),
    retireOthers(db, user.id, "reset_password", id, now),
  ]);
  if (inserted.length === 0) return undefined;
  return resetPasswordMail(config.appName, user, linkTo(config.mail, "/password/reset", value), RESET_TTL_SECONDS);
}

/** Sets a new password with a reset link: the link proved the address, so it is marked
 * verified (the first proof removes the factors enrolled before); every session ends, the
 * email's lockout goes, and every flow in flight dies (RETIRED_BY.password_reset). */
export async function resetPassword(ctx: Ctx, token: string, newPassword: string): Promise<void> {
  const { config, db, now, source } = ctx;
  const row = await consumeLink(ctx, token, "reset_password");
  const user = await findUser(db, row.userId);
  // A link mailed to an address the account has since left, or for a disabled account,
  // proves nothing any more.
  if (!user || user.disabled || user.email !== row.target) throw new ApiError("invalid_link");
  const passwordHash = await hashPassword(newPassword, config.bcryptCost);
  const event = userEvent("password_reset", user.id, source);
  await db.batch([
    ...auditIfChanged(db, setPasswordHash(db, user.id, passwordHash, now), event, now),
    ...distrustFactorsOfUnprovenAddress(db, user.id, user.email, source, now),
    revokeAll(db, user.id, now),
    clearFailures(db, user.email),
    markVerified(db, user.id, user.email, now),
    ...retireFor(db, "password_reset", user.id, now),
  ]);
}
