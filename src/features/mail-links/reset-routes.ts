import { Hono } from "hono";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { requireMail } from "../../platform/http/require-mail";
import { afterResponse, deliver } from "../../platform/mail/send";
import { describe } from "../../platform/openapi/describe";
import { linkPage, linkPageDoc } from "./pages";
import { accepted, FORGOT_ACCEPTED, forgotBody, resetBody } from "./schemas";
import { forgotPassword, resetPassword } from "./service";

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
        // Within MAIL_COOLDOWN of the last mail: nothing more goes out, the earlier link still works.
        const mail = await forgotPassword(ctxOf(c), email);
        if (mail) await deliver(c, "reset_password", mail);
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
      await resetPassword(ctxOf(c), token, newPassword);
      return c.body(null, 204);
    },
  );
