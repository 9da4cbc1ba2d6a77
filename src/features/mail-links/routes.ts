import { Hono } from "hono";
import * as z from "zod/mini";
import { requireSession } from "../../identity/guards";
import { account, accountJson } from "../../identity/schemas";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { requireMail } from "../../platform/http/require-mail";
import { afterResponse, deliver } from "../../platform/mail/send";
import { emailChangedMail } from "../../platform/mail/templates";
import { describe, named } from "../../platform/openapi/describe";
import { linkPage, linkPageDoc } from "./pages";
import { accepted, CHANGE_SENT, changeEmailBody, confirmChangeBody, VERIFY_SENT, verifyBody } from "./schemas";
import { checkEmailChange, confirmEmailChange, requestEmailChange, resendVerification, verifyEmail } from "./service";

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
      const user = await verifyEmail(ctxOf(c), c.req.valid("json").token);
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
      const { user } = c.var;
      if (user.emailVerifiedAt) return c.json({ email_verified: true }, 200);
      afterResponse(c, "verify_resend_failed", async () => {
        // Within MAIL_COOLDOWN of the last one: the same 202, no second mail.
        const mail = await resendVerification(ctxOf(c), user);
        if (mail) await deliver(c, "verify_email", mail);
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
      const { claims, user } = c.var;
      await checkEmailChange(ctxOf(c), user, newEmail, given);
      // Whether the address is taken must not show: the same 202 either way, decided after it.
      afterResponse(c, "email_change_failed", async () => {
        const mails = await requestEmailChange(ctxOf(c), user, newEmail, claims.sid ?? null);
        await Promise.all(mails.map(({ kind, mail }) => deliver(c, kind, mail)));
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
      const { before, after } = await confirmEmailChange(ctxOf(c), c.req.valid("json").token);
      afterResponse(c, "email_changed_notice_failed", () =>
        deliver(c, "email_changed", emailChangedMail(c.var.config.appName, after, before.email)),
      );
      return c.json(accountJson(after));
    },
  );
