import { Hono } from "hono";
import * as z from "zod/mini";
import { auditEvent } from "../../identity/audit";
import { finishLogin } from "../../identity/delivery";
import { requireSession } from "../../identity/guards";
import { assertNotLocked, confirmPassword, countedCheck, failureEvents, passwordCheck } from "../../identity/lockout";
import {
  deleteOrphanRecoveryCodes,
  deleteTotp,
  findTotp,
  pendingLoginQueries,
  upsertPendingTotp,
  useRecoveryCode,
} from "../../identity/queries/factors";
import { nextFailure, recordFailure } from "../../identity/queries/failures";
import { acceptCode, secondFactorCheck, spendTotpForRecoveryCodes } from "../../identity/second-factors";
import { auditSourceOf } from "../../identity/sessions";
import { MFA_MAX_ATTEMPTS, MFA_PURPOSE } from "../../identity/sign-in";
import { encryptTotpSecret, enrolment, newTotpSecret, recoveryCodeHash } from "../../identity/totp";
import { verifyPasskeyForMfa } from "../../identity/webauthn";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { password, REQUIRED, refreshTransport, text } from "../../platform/fields";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { describe, named, recoveryCodes, signedInJson, totpEnrolment } from "../../platform/openapi";
import { consumeSingleUse, spendAttempt } from "../../platform/single-use";
import { singleUseHash } from "../../platform/single-use-mint";

/** A TOTP code or a recovery code as typed: short strings only. */
const code = (field: string) => text(field).check(z.minLength(1, REQUIRED), z.maxLength(64, `${field} is not valid`));

export const totpEnrolBody = named("TotpEnrolBody", z.object({ password: password("password") }));
export const totpCodeBody = named("TotpCodeBody", z.object({ code: code("code") }));
export const totpDisableBody = named(
  "TotpDisableBody",
  z.object({ password: password("password"), code: code("code") }),
);
export const mfaTokenBody = named(
  "MfaTokenBody",
  z.object({
    mfa_token: text("mfa_token").check(z.minLength(1, REQUIRED), z.maxLength(256, "mfa_token is not valid")),
  }),
);
export const loginMfaBody = named(
  "LoginMfaBody",
  z.object({
    ...mfaTokenBody.shape,
    code: z.optional(code("code")),
    recovery_code: z.optional(code("recovery_code")),
    webauthn: z.optional(z.record(z.string(), z.unknown())),
    refresh_transport: refreshTransport(),
  }),
);

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
      const { config, db, user } = c.var;
      await confirmPassword(c, c.req.valid("json").password, "enrol_totp");
      const secret = newTotpSecret();
      const stored = await encryptTotpSecret(config.mfaKey, user.id, secret);
      const rows = await upsertPendingTotp(db, user.id, stored, new Date());
      if (rows.length === 0) throw new ApiError("mfa_already_enabled");
      const { uri, svg } = enrolment(secret, config.appName, user.email);
      c.header("Cache-Control", "no-store");
      return c.json({ secret, otpauth_uri: uri, qr_svg: svg });
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
      const codes = await spendTotpForRecoveryCodes(c, c.req.valid("json").code, { confirming: true });
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
      const { db, user } = c.var;
      const body = c.req.valid("json");
      const factor = await findTotp(db, user.id);
      if (!factor?.confirmedAt) throw new ApiError("not_found", "TOTP is not enabled");
      // Both in one counted check: a right password does not forget wrong codes sent with it.
      await countedCheck(
        c,
        passwordCheck(c, body.password, "disable_totp"),
        secondFactorCheck(c, body.code, "disable_totp", { orRecovery: true }),
      );
      const event = { type: "mfa_disabled", userId: user.id, actor: { type: "user", id: user.id } } as const;
      // Recovery codes stay while a passkey still needs them as a fallback.
      await db.batch([
        deleteTotp(db, user.id),
        auditEvent(db, { ...event, source: auditSourceOf(c), details: { method: "totp" } }, new Date(), {
          onlyIfChanged: true,
        }),
        deleteOrphanRecoveryCodes(db, user.id),
      ]);
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
      const codes = await spendTotpForRecoveryCodes(c, c.req.valid("json").code, { confirming: false });
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
      const { config, db } = c.var;
      const now = new Date();
      const hash = await singleUseHash(body.mfa_token);
      if (!hash) throw new ApiError("invalid_credentials");
      // One round trip reads the token, its user, the email's failures and the TOTP factor.
      const [[pending], [user], [record], [factor]] = await db.batch(pendingLoginQueries(db, hash, now));
      if (!pending || !user || user.id !== pending.userId || user.disabled) throw new ApiError("invalid_credentials");
      assertNotLocked(record, now);

      let amr: string[] | undefined;
      if (body.code !== undefined) {
        if (await acceptCode(db, config.mfaKey, user.id, body.code, now, false, factor ?? null))
          amr = ["pwd", "otp", "mfa"];
      } else if (body.recovery_code !== undefined) {
        // RFC 8176 has no value for recovery codes; they are one-time passwords.
        const codeHash = await recoveryCodeHash(body.recovery_code);
        if (codeHash && (await useRecoveryCode(db, user.id, codeHash, now)).length > 0) amr = ["pwd", "otp", "mfa"];
      } else if (body.webauthn !== undefined) {
        const key = await verifyPasskeyForMfa(c, user.id, hash, body.webauthn, now);
        if (key) amr = ["pwd", key, "mfa"];
      }
      if (!amr) {
        // A wrong answer costs the mfa_token one of its attempts and the email one failed
        // login, audited as the signed-in re-checks are (`mfa_failed`, and the lock).
        const factor =
          body.code !== undefined ? "totp" : body.recovery_code !== undefined ? "recovery_code" : "passkey";
        const failure = { type: "mfa_failed", details: { factor, purpose: "login" } } as const;
        const { lockSeconds } = nextFailure(record, config.lockout, now);
        await db.batch([
          spendAttempt(db, hash, MFA_PURPOSE, MFA_MAX_ATTEMPTS, now),
          recordFailure(db, user.email, record, config.lockout, now),
          ...failureEvents(db, user.id, failure, lockSeconds, auditSourceOf(c), now),
        ]);
        throw new ApiError("invalid_credentials");
      }
      // Single use: of two requests racing with right answers, one gets the session.
      const [consumed] = await consumeSingleUse(db, hash, MFA_PURPOSE, now);
      if (!consumed) throw new ApiError("invalid_credentials");
      return c.json(
        await finishLogin(c, user, amr, body.refresh_transport, { hadFailures: record !== undefined }),
        200,
      );
    },
  );
