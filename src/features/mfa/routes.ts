import { Hono } from "hono";
import { deliverSession } from "../../identity/delivery";
import { requireSession } from "../../identity/guards";
import { signedInJson } from "../../identity/schemas";
import { spendTotpForRecoveryCodes } from "../../identity/second-factors";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { describe } from "../../platform/openapi/describe";
import { loginMfaBody, recoveryCodes, totpCodeBody, totpDisableBody, totpEnrolBody, totpEnrolment } from "./schemas";
import { completeMfaLogin, disableTotp, enrolTotp } from "./service";

/** TOTP enrolment and recovery codes (session-checked), and the login's second step. */
export const mfa = new Hono<AppEnv>()
  .post(
    "/me/mfa/totp",
    describe({
      operationId: "enrolTotp",
      tag: "Second factors",
      summary: "Start TOTP enrolment",
      description:
        "Re-checks the password. The secret is stored encrypted and is not required at login until confirmed; calling again before confirming starts over. The check counts toward the account's lockout and a per-IP limit, as a login does (429 rate_limited + Retry-After; while locked even the right one is refused).",
      access: "session",
      ok: {
        status: 200,
        description: "The secret, its URI and QR code",
        json: totpEnrolment,
        cacheControl: "no-store",
      },
      errors: ["invalid_input", "invalid_credentials", "mfa_already_enabled", "rate_limited"],
    }),
    requireSession,
    jsonBody(totpEnrolBody),
    async (c) => {
      const enrolment = await enrolTotp(ctxOf(c), c.var.user, c.req.valid("json").password);
      c.header("Cache-Control", "no-store");
      return c.json(enrolment);
    },
  )
  .post(
    "/me/mfa/totp/confirm",
    describe({
      operationId: "confirmTotp",
      tag: "Second factors",
      summary: "Confirm TOTP with a code; get recovery codes",
      description:
        "From now on login asks for a second factor. The ten recovery codes are shown only here. The check counts toward the account's lockout and a per-IP limit, as a login does (429 rate_limited + Retry-After; while locked even the right one is refused).",
      access: "session",
      ok: { status: 200, description: "Ten recovery codes", json: recoveryCodes, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_credentials", "rate_limited"],
    }),
    requireSession,
    jsonBody(totpCodeBody),
    async (c) => {
      const codes = await spendTotpForRecoveryCodes(ctxOf(c), c.var.user, c.req.valid("json").code, {
        confirming: true,
      });
      c.header("Cache-Control", "no-store");
      return c.json({ recovery_codes: codes });
    },
  )
  .delete(
    "/me/mfa/totp",
    describe({
      operationId: "disableTotp",
      tag: "Second factors",
      summary: "Turn TOTP off",
      description:
        "Needs the password and a current code (or a recovery code). Recovery codes go too unless a passkey remains. Each check counts toward the account's lockout and a per-IP limit, as a login does (429 rate_limited + Retry-After; while locked even the right one is refused).",
      access: "session",
      ok: { status: 204, description: "TOTP is off" },
      errors: ["invalid_input", "invalid_credentials", "not_found", "rate_limited"],
    }),
    requireSession,
    jsonBody(totpDisableBody),
    async (c) => {
      const body = c.req.valid("json");
      await disableTotp(ctxOf(c), c.var.user, body);
      return c.body(null, 204);
    },
  )
  .post(
    "/me/mfa/recovery-codes",
    describe({
      operationId: "regenerateRecoveryCodes",
      tag: "Second factors",
      summary: "Replace the recovery codes",
      description:
        "Needs a current TOTP code. Every earlier recovery code stops working. The check counts toward the account's lockout and a per-IP limit, as a login does (429 rate_limited + Retry-After; while locked even the right one is refused).",
      access: "session",
      ok: { status: 200, description: "Ten new recovery codes", json: recoveryCodes, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_credentials", "rate_limited"],
    }),
    requireSession,
    jsonBody(totpCodeBody),
    async (c) => {
      const codes = await spendTotpForRecoveryCodes(ctxOf(c), c.var.user, c.req.valid("json").code, {
        confirming: false,
      });
      c.header("Cache-Control", "no-store");
      return c.json({ recovery_codes: codes });
    },
  )
  .post(
    "/login/mfa",
    describe({
      operationId: "loginMfa",
      tag: "Auth",
      summary: "Second step of a login: a TOTP code, a recovery code or a passkey assertion",
      description:
        'When the account has a second factor, POST /login with the right password answers 403 `mfa_required` with `mfa_token` (opaque, 5 minutes, single-use) and `mfa_methods` (`totp`, `webauthn`, `recovery_code`) beside `error`. Send the token back with exactly one of `code` (6 digits; the previous and next 30-second step are accepted, a step already used is not), `recovery_code` (single-use) or `webauthn` (an assertion over the challenge of POST /login/mfa/webauthn/options). A wrong answer is 400 invalid_credentials and counts toward the email\'s lockout; the fifth kills the mfa_token. The access token\'s `amr` is `["pwd","otp","mfa"]` or `["pwd","hwk"|"swk","mfa"]`.',
      access: "public",
      ok: { status: 200, description: "As POST /login", json: signedInJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_credentials", "rate_limited"],
    }),
    jsonBody(loginMfaBody),
    rateLimit("LOGIN_RATE_LIMIT"),
    async (c) => {
      const body = c.req.valid("json");
      const answers = [body.code, body.recovery_code, body.webauthn].filter((answer) => answer !== undefined);
      if (answers.length !== 1) {
        throw new ApiError("invalid_input", "Send exactly one of code, recovery_code or webauthn with the mfa_token");
      }
      return c.json(deliverSession(c, await completeMfaLogin(ctxOf(c), body)), 200);
    },
  );
