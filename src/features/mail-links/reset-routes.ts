import { Hono } from "hono";
import * as z from "zod/mini";
import { auditEvent } from "../../identity/audit";
import { hashPassword } from "../../identity/passwords";
import { clearFailures } from "../../identity/queries/failures";
import { revokeAll } from "../../identity/queries/sessions";
import { findUser, findUserByEmail, markVerified, setPasswordHash } from "../../identity/queries/users";
import { distrustFactorsOfUnprovenAddress } from "../../identity/recovery";
import { auditSourceOf } from "../../identity/sessions";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { email, MAX_EMAIL_LENGTH, newPassword, REQUIRED, text } from "../../platform/fields";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { requireMail } from "../../platform/http/require-mail";
import { afterResponse, deliver } from "../../platform/mail/send";
import { linkTo, resetPasswordMail } from "../../platform/mail/templates";
import { accepted, describe, named } from "../../platform/openapi";
import { consumeSingleUse, retireFor, retireOthers } from "../../platform/single-use";
import { mintMailToken, singleUseHash } from "../../platform/single-use-mint";
import { linkPage, linkPageDoc } from "./pages";

/** A reset link works for one hour. */
export const RESET_TTL_SECONDS = 3600;

/** The token of a mailed link, as its page posts it; whether it is one is for D1 to say. */
export const linkToken = () => text("token").check(z.minLength(1, REQUIRED));

export const forgotBody = named("ForgotBody", z.object({ email: email() }));
export const resetBody = named("ResetBody", z.object({ token: linkToken(), newPassword: newPassword("newPassword") }));

/** The one answer of POST /password/forgot, whatever the address. */
export const FORGOT_ACCEPTED = {
  message: "If an account uses this address, a link to reset its password is on its way.",
} as const;

export const password = new Hono<AppEnv>()
  .post(
    "/password/forgot",
    describe({
      operationId: "forgotPassword",
      tag: "Email",
      summary: "Mail a password-reset link",
      description:
        "Always 202 with the same body, whether the address has an account, is disabled or locked: the lookup and the mail happen after the answer. A known, enabled account gets a link valid for 1 hour; unknown addresses get nothing. At most one mail per address per MAIL_COOLDOWN (later requests get the same 202 and send nothing). Per-IP limit (429).",
      access: "public",
      ok: { status: 202, description: "Accepted; a mail may be on its way", json: accepted },
      errors: ["invalid_input", "rate_limited", "mail_unavailable"],
    }),
    jsonBody(forgotBody),
    requireMail,
    rateLimit("MAIL_RATE_LIMIT"),
    (c) => {
      const { email } = c.req.valid("json");
      // Everything that depends on the address (lookup, token, mail) happens after the
      // answer: known, unknown, disabled or locked, every request gets the same 202 at
      // the same speed, and no bcrypt runs on any path. Unknown addresses get no mail.
      afterResponse(c, "password_forgot_failed", async () => {
        const { config, db } = c.var;
        if (email.length > MAX_EMAIL_LENGTH) return;
        const user = await findUserByEmail(db, email);
        if (!user || user.disabled) return;
        const now = new Date();
        const { value, id, insert } = await mintMailToken(
          db,
          "reset_password",
          {
            userId: user.id,
            ttlSeconds: RESET_TTL_SECONDS,
            target: user.email,
            cooldownSeconds: config.mail.cooldownSeconds,
          },
          now,
        );
        const event = {
          type: "password_reset_requested",
          userId: user.id,
          actor: { type: "user", id: user.id },
          source: auditSourceOf(c),
        } as const;
        // The event only when the link went in (right after its insert: see auditEvent).
        const [inserted] = await db.batch([
          insert,
          auditEvent(db, event, now, { onlyIfChanged: true }),
          retireOthers(db, user.id, "reset_password", id, now),
        ]);
        // Within MAIL_COOLDOWN of the last mail: nothing more goes out, the earlier link still works.
        if (inserted.length === 0) return;
        const link = linkTo(config.mail, "/password/reset", value);
        await deliver(c, "reset_password", resetPasswordMail(config.appName, user, link, RESET_TTL_SECONDS));
      });
      return c.json(FORGOT_ACCEPTED, 202);
    },
  )
  .get("/password/reset", describe(linkPageDoc("reset")), (c) => linkPage(c, "reset"))
  .post(
    "/password/reset",
    describe({
      operationId: "resetPassword",
      tag: "Email",
      summary: "Set a new password with a reset link's token",
      description:
        "`newPassword` follows register's rules. Every session of the account is revoked, the email's lockout cleared, the address marked verified, and every link, pending email change and login in flight dies. When the address had never been proved, the account's second factors go too (they may be a squatter's). A link works once.",
      access: "public",
      ok: { status: 204, description: "Password changed; sign in again" },
      errors: ["invalid_input", "invalid_link"],
    }),
    jsonBody(resetBody),
    async (c) => {
      const { token, newPassword } = c.req.valid("json");
      const { config, db } = c.var;
      const tokenHash = await singleUseHash(token);
      if (!tokenHash) throw new ApiError("invalid_link");
      const now = new Date();
      const [row] = await consumeSingleUse(db, tokenHash, "reset_password", now);
      const user = row?.userId ? await findUser(db, row.userId) : undefined;
      // A link mailed to an address the account has since left, or for a disabled
      // account, proves nothing any more.
      if (!row || !user || user.disabled || user.email !== row.target) throw new ApiError("invalid_link");
      const passwordHash = await hashPassword(newPassword, config.bcryptCost);
      // The link proved the address: verified (the first proof of it removes the factors
      // enrolled before, see distrustFactorsOfUnprovenAddress); every session ends, the
      // email's lockout goes, and every flow in flight dies (RETIRED_BY.password_reset).
      const event = { type: "password_reset", userId: user.id, actor: { type: "user", id: user.id } } as const;
      const source = auditSourceOf(c);
      await db.batch([
        setPasswordHash(db, user.id, passwordHash, now),
        auditEvent(db, { ...event, source }, now, { onlyIfChanged: true }),
        ...distrustFactorsOfUnprovenAddress(db, user.id, user.email, source, now),
        revokeAll(db, user.id, now),
        clearFailures(db, user.email),
        markVerified(db, user.id, user.email, now),
        ...retireFor(db, "password_reset", user.id, now),
      ]);
      return c.body(null, 204);
    },
  );
