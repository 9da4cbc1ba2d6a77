import type { Ctx } from "../platform/context";
import { linkTo, verifyEmailMail } from "../platform/mail/templates";
import { mintMailToken } from "../platform/single-use";

/** A verification link works for a day. */
export const VERIFY_TTL_SECONDS = 24 * 3600;

/**
 * Mints a verification link for `user` (register mails one with the account's first
 * session, POST /email/verify/resend on demand): `insert` records it (batch it where the
 * user is written; it goes in only if the user exists and no link went to the user or
 * the address in the last `cooldownSeconds`), `mail` is the message to send once the
 * batch says it went in.
 */
export async function verificationLink(ctx: Ctx, user: { id: string; email: string }, cooldownSeconds: number) {
  const { config, db, now } = ctx;
  const minted = await mintMailToken(
    db,
    "verify_email",
    { userId: user.id, ttlSeconds: VERIFY_TTL_SECONDS, target: user.email, cooldownSeconds },
    now,
  );
  return {
    ...minted,
    mail: (recipient: { email: string; firstName: string }) =>
      verifyEmailMail(
        config.appName,
        recipient,
        linkTo(config.mail, "/email/verify", minted.value),
        VERIFY_TTL_SECONDS,
      ),
  };
}
