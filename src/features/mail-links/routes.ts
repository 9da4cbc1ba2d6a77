import type { Context } from "hono";
import { Hono } from "hono";
import * as z from "zod/mini";
import { auditEvent } from "../../identity/audit";
import { requireSession } from "../../identity/guards";
import { confirmPassword } from "../../identity/lockout";
import { revokeAll } from "../../identity/queries/sessions";
import { accountJson, changeEmail, findEmail, findUserByEmail, markVerified } from "../../identity/queries/users";
import { distrustFactorsOfUnprovenAddress } from "../../identity/recovery";
import { auditSourceOf } from "../../identity/sessions";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { newEmail, password } from "../../platform/fields";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { requireMail } from "../../platform/http/require-mail";
import { afterResponse, deliver } from "../../platform/mail/send";
import {
  changeEmailMail,
  changeRequestedMail,
  emailChangedMail,
  linkTo,
  verifyEmailMail,
} from "../../platform/mail/templates";
import { accepted, account, describe, named } from "../../platform/openapi";
import { consumeSingleUse, retireFor, retireOthers } from "../../platform/single-use";
import { mintMailToken, singleUseHash } from "../../platform/single-use-mint";
import { linkPage, linkPageDoc } from "./pages";
import { linkToken } from "./reset-routes";

/** A verification link works for a day; an email-change link for an hour. */
export const VERIFY_TTL_SECONDS = 24 * 3600;
export const CHANGE_TTL_SECONDS = 3600;

export const verifyBody = named("VerifyBody", z.object({ token: linkToken() }));
/** The new address follows register's rules (src/platform/fields.ts newEmail). */
export const changeEmailBody = named(
  "ChangeEmailBody",
  z.object({ newEmail: newEmail("newEmail"), password: password("password") }),
);
export const confirmChangeBody = named("ConfirmChangeBody", z.object({ token: linkToken() }));

const VERIFY_SENT = { message: "A link to confirm your email address is on its way." } as const;
const CHANGE_SENT = {
  message: "If the new address can be used, a link to confirm it is on its way there.",
} as const;

/** Mints a verification link for `user` (batch `insert` where the user is written) and
 * returns `send`, to call once the batch says the token went in. */
export async function verificationFor(
  c: Context<AppEnv>,
  user: { id: string; email: string },
  now: Date,
  cooldown: number,
) {
  const { config, db } = c.var;
  const minted = await mintMailToken(
    db,
    "verify_email",
    { userId: user.id, ttlSeconds: VERIFY_TTL_SECONDS, target: user.email, cooldownSeconds: cooldown },
    now,
  );
  return {
    ...minted,
    send: (recipient: { email: string; firstName: string }) =>
      deliver(
        c,
        "verify_email",
        verifyEmailMail(
          config.appName,
          recipient,
          linkTo(config.mail, "/email/verify", minted.value),
          VERIFY_TTL_SECONDS,
        ),
      ),
  };
}

/** Consumes a link's token of `purpose`: the row, or 400 `invalid_link`. */
async function consumeLink(c: Context<AppEnv>, token: string, purpose: "verify_email" | "change_email", now: Date) {
  const tokenHash = await singleUseHash(token);
  const [row] = tokenHash ? await consumeSingleUse(c.var.db, tokenHash, purpose, now) : [];
  if (!row?.userId || !row.target) throw new ApiError("invalid_link");
  return { ...row, userId: row.userId, target: row.target };
}

export const emailRoutes = new Hono<AppEnv>()
  .get("/email/verify", describe(linkPageDoc("verify")), (c) => linkPage(c, "verify"))
  .post(
    "/email/verify",
    describe({
      operationId: "verifyEmail",
      tag: "Email",
      summary: "Confirm the address with a verification link's token",
      access: "public",
      ok: {
        status: 200,
        description: "The address is verified",
        json: named("Verified", z.object({ email: z.string(), email_verified: z.literal(true) })),
      },
      errors: ["invalid_input", "invalid_link"],
    }),
    jsonBody(verifyBody),
    async (c) => {
      const now = new Date();
      const { db } = c.var;
      const row = await consumeLink(c, c.req.valid("json").token, "verify_email", now);
      const event = { type: "email_verified", userId: row.userId, actor: { type: "user", id: row.userId } } as const;
      const source = auditSourceOf(c);
      // The first proof of the address removes the factors enrolled before it (see
      // distrustFactorsOfUnprovenAddress). Verified only while the account still has the
      // address the link was sent to and is enabled (else no event).
      const distrust = distrustFactorsOfUnprovenAddress(db, row.userId, row.target, source, now);
      const verified = markVerified(db, row.userId, row.target, now);
      const results = await db.batch([
        ...distrust,
        verified,
        auditEvent(db, { ...event, source }, now, { onlyIfChanged: true }),
      ]);
      const [user] = results[distrust.length] as Awaited<typeof verified>;
      if (!user) throw new ApiError("invalid_link");
      return c.json({ email: user.email, email_verified: true });
    },
  )
  .post(
    "/email/verify/resend",
    describe({
      operationId: "resendVerification",
      tag: "Email",
      summary: "Mail a new verification link",
      description:
        "202 and a new link (valid 24 hours; older ones die), at most one per MAIL_COOLDOWN; 200 and no mail when already verified. Per-IP limit (429).",
      access: "session",
      ok: { status: 202, description: "A link is on its way", json: accepted },
      alsoOk: {
        status: 200,
        description: "Already verified: no mail",
        json: named("AlreadyVerified", z.object({ email_verified: z.literal(true) })),
      },
      errors: ["rate_limited", "mail_unavailable"],
    }),
    requireSession,
    requireMail,
    rateLimit("MAIL_RATE_LIMIT"),
    async (c) => {
      const { config, db, user } = c.var;
      if (user.emailVerifiedAt) return c.json({ email_verified: true }, 200);
      afterResponse(c, "verify_resend_failed", async () => {
        const now = new Date();
        const verification = await verificationFor(c, user, now, config.mail.cooldownSeconds);
        const [inserted] = await db.batch([
          verification.insert,
          retireOthers(db, user.id, "verify_email", verification.id, now),
        ]);
        // Within MAIL_COOLDOWN of the last one: the same 202, no second mail.
        if (inserted.length > 0) await verification.send(user);
      });
      return c.json(VERIFY_SENT, 202);
    },
  )
  .post(
    "/me/email",
    describe({
      operationId: "changeEmail",
      tag: "Email",
      summary: "Move the account to another address",
      description:
        "`newEmail` follows register's rules. The password is checked again (400 invalid_credentials), counted toward the account's lockout and the per-IP login limit as a login is (429 while locked, even with the right password). The new address gets a confirmation link (1 hour) and the current one a notice; an address taken by another account gets the same 202 and no mail. At most one per MAIL_COOLDOWN. Per-IP limit (429).",
      access: "session",
      ok: { status: 202, description: "Accepted; a link may be on its way to the new address", json: accepted },
      errors: ["invalid_input", "invalid_credentials", "rate_limited", "mail_unavailable"],
    }),
    requireSession,
    jsonBody(changeEmailBody),
    requireMail,
    rateLimit("MAIL_RATE_LIMIT"),
    async (c) => {
      const { newEmail, password: given } = c.req.valid("json");
      const { claims, config, db, user } = c.var;
      await confirmPassword(c, given, "change_email");
      if (newEmail === user.email) throw new ApiError("invalid_input", "newEmail is already the account's address");
      // Whether the address is taken must not show: the same 202 either way, decided after it.
      afterResponse(c, "email_change_failed", async () => {
        if (await findUserByEmail(db, newEmail)) return;
        const now = new Date();
        const { value, id, insert } = await mintMailToken(
          db,
          "change_email",
          {
            userId: user.id,
            ttlSeconds: CHANGE_TTL_SECONDS,
            target: newEmail,
            cooldownSeconds: config.mail.cooldownSeconds,
            // The session that asked keeps going after the change; the others end.
            data: { sid: claims.sid ?? null },
          },
          now,
        );
        const [inserted] = await db.batch([insert, retireOthers(db, user.id, "change_email", id, now)]);
        if (inserted.length === 0) return;
        const link = linkTo(config.mail, "/email/change/confirm", value);
        await Promise.all([
          deliver(c, "change_email", changeEmailMail(config.appName, user, newEmail, link, CHANGE_TTL_SECONDS)),
          deliver(c, "email_change_notice", changeRequestedMail(config.appName, user)),
        ]);
      });
      return c.json(CHANGE_SENT, 202);
    },
  )
  .get("/email/change/confirm", describe(linkPageDoc("change")), (c) => linkPage(c, "change"))
  .post(
    "/email/change/confirm",
    describe({
      operationId: "confirmEmailChange",
      tag: "Email",
      summary: "Confirm an email change with its link's token",
      description:
        "The account moves to the new address, verified; every session but the one that asked for the change is revoked, every other link and login in flight dies, and the old address gets a notice. A disabled account's link is 400 invalid_link. 409 user_exists when another account took the address meanwhile.",
      access: "public",
      ok: { status: 200, description: "The account, at its new address", json: account },
      errors: ["invalid_input", "invalid_link", "user_exists"],
    }),
    jsonBody(confirmChangeBody),
    async (c) => {
      const { config, db } = c.var;
      const now = new Date();
      const row = await consumeLink(c, c.req.valid("json").token, "change_email", now);
      const event = { type: "email_changed", userId: row.userId, actor: { type: "user", id: row.userId } } as const;
      // No details: neither address is needed to tell what happened, and the link never is.
      const [[before], [after]] = await db.batch([
        findEmail(db, row.userId),
        changeEmail(db, row.userId, row.target, now),
        auditEvent(db, { ...event, source: auditSourceOf(c) }, now, { onlyIfChanged: true }),
      ]);
      // A disabled account's links prove nothing (its rows were retired with it; this
      // holds for one disabled straight in D1 too).
      if (!before || before.disabled) throw new ApiError("invalid_link");
      if (!after) throw new ApiError("user_exists");
      const keep = sidOf(row.data);
      // Other sessions end; links mailed to the old address and every flow in flight die
      // with it (RETIRED_BY.email_changed).
      await db.batch([revokeAll(db, row.userId, now, keep), ...retireFor(db, "email_changed", row.userId, now)]);
      afterResponse(c, "email_changed_notice_failed", () =>
        deliver(c, "email_changed", emailChangedMail(config.appName, after, before.email)),
      );
      return c.json(accountJson(after));
    },
  );

function sidOf(data: string | null): string | undefined {
  try {
    const sid = data ? (JSON.parse(data) as { sid?: unknown }).sid : undefined;
    return typeof sid === "string" && sid !== "" ? sid : undefined;
  } catch {
    return undefined;
  }
}
