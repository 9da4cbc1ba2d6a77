import { Hono } from "hono";
import * as z from "zod/mini";
import { auditEvent } from "../../identity/audit";
import { deliverTokens } from "../../identity/delivery";
import { assertNotLocked, failureEvents } from "../../identity/lockout";
import { checkPassword, hashPassword } from "../../identity/passwords";
import { findFactorsByEmail, mfaMethods, summary } from "../../identity/queries/factors";
import { clearFailures, findFailures, nextFailure, recordFailure } from "../../identity/queries/failures";
import { insertFirstToken, insertSession } from "../../identity/queries/sessions";
import { findUserWithHash, insertUserQuery, rehashPassword, userJson } from "../../identity/queries/users";
import { auditSourceOf, clientOf, newRefresh, tokenPair } from "../../identity/sessions";
import { requireSecondFactor, signedIn } from "../../identity/sign-in";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import {
  email,
  MAX_EMAIL_LENGTH,
  name,
  newEmail,
  newPassword,
  password,
  refreshTransport,
} from "../../platform/fields";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { afterResponse } from "../../platform/mail/send";
import { describe, named, signedInJson } from "../../platform/openapi";
import { verificationFor } from "../mail-links/routes";

export const registerBody = named(
  "RegisterBody",
  z.object({
    firstName: name("firstName"),
    lastName: name("lastName"),
    email: newEmail(),
    password: newPassword("password"),
    refresh_transport: refreshTransport(),
  }),
);

export const loginBody = named(
  "LoginBody",
  z.object({
    email: email(),
    password: password("password"),
    refresh_transport: refreshTransport(),
  }),
);

export const auth = new Hono<AppEnv>()
  .post(
    "/register",
    describe({
      operationId: "register",
      tag: "Auth",
      summary: "Create an account and start a session",
      description:
        'Every field is a string. `email` is trimmed, NFC-normalized and lowercased; an internationalized domain is stored in its ASCII form (`x@münchen.de` is `x@xn--mnchen-3ya.de`), the part before @ must be ASCII; names are trimmed, 1 to 100 characters, with a visible character and no control, format or invisible ones; `password` is at least 8 characters (code points, NFC) and at most 72 **bytes** of UTF-8 (bcrypt ignores what follows byte 72, so longer passwords are refused, never cut) and not one of the 10,000 most common passwords. Missing, null or blank fields: 400 "All input is required". Unknown fields are ignored. Well-formed requests count against a per-IP limit (429).',
      access: "public",
      ok: {
        status: 201,
        description:
          "The new user and its token pair (with REQUIRE_EMAIL_VERIFICATION=true: the user only, no tokens). With mail on, a verification link goes to the address.",
        json: signedInJson,
        cacheControl: "no-store",
      },
      errors: ["invalid_input", "user_exists", "rate_limited"],
    }),
    jsonBody(registerBody),
    rateLimit("REGISTER_RATE_LIMIT"),
    async (c) => {
      const { firstName, lastName, email, password, refresh_transport } = c.req.valid("json");
      const { config, db } = c.var;
      const passwordHash = await hashPassword(password, config.bcryptCost);
      const now = new Date();
      const userId = crypto.randomUUID();
      const refresh = await newRefresh(config, now);
      const token = { id: crypto.randomUUID(), ...refresh, ...clientOf(c), amr: "pwd" };
      // With mail on, a verification link, recorded only if the user row goes in.
      const mailOn = config.mail.transport !== "none";
      const verification = mailOn ? await verificationFor(c, { id: userId, email }, now, 0) : undefined;
      // Until verified, REQUIRE_EMAIL_VERIFICATION gives no session.
      const withSession = !config.mail.requireVerification;
      // One round trip: the user row; then, only if it won, its audit event, the session
      // row, the verification link and the email's failed-login record (so a stranger's
      // failures can't lock the new owner).
      const source = auditSourceOf(c);
      const [inserted] = await db.batch([
        insertUserQuery(db, { id: userId, email, firstName, lastName, passwordHash }, now),
        auditEvent(db, { type: "user_registered", userId, actor: { type: "user", id: userId }, source }, now, {
          onlyIfChanged: true,
        }),
        clearFailures(db, email, userId),
        ...(withSession ? [insertFirstToken(db, userId, token, now)] : []),
        ...(verification ? [verification.insert] : []),
      ]);
      const user = inserted[0];
      if (!user) throw new ApiError("user_exists");
      if (verification) afterResponse(c, "verify_mail_failed", () => verification.send(user));
      c.header("Cache-Control", "no-store");
      if (!withSession) return c.json(userJson(user), 201);
      const body = signedIn(user, await tokenPair(user, token.id, refresh.refreshToken, config, ["pwd"]));
      return c.json(deliverTokens(c, body, refresh_transport), 201);
    },
  )
  .post(
    "/login",
    describe({
      operationId: "login",
      tag: "Auth",
      summary: "Log in and start a session",
      description:
        "The email matches whatever its letter case and surrounding spaces. An unknown email, a wrong password and a disabled account get the same answer after the same work. An account with a second factor gets 403 mfa_required with `mfa_token` and `mfa_methods` beside `error` instead of tokens: finish at POST /login/mfa. After LOCKOUT_AFTER failures in a row the email is locked for a while (429, even with the right password), and well-formed requests count against a per-IP limit (429).",
      access: "public",
      ok: { status: 200, description: "The user and a fresh token pair", json: signedInJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_credentials", "email_not_verified", "mfa_required", "rate_limited"],
    }),
    jsonBody(loginBody),
    rateLimit("LOGIN_RATE_LIMIT"),
    async (c) => {
      const { email, password, refresh_transport } = c.req.valid("json");
      const { config, db } = c.var;
      const now = new Date();
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
        const audit = user ? failureEvents(db, user.id, failure, lockSeconds, auditSourceOf(c), now) : [];
        if (known) await db.batch([recordFailure(db, email, record, config.lockout, now), ...audit]);
        throw new ApiError("invalid_credentials");
      }
      // Said only to whoever knows the password, so it reveals nothing more than a login would.
      if (config.mail.requireVerification && !user.emailVerifiedAt) throw new ApiError("email_not_verified");
      // A hash made at another cost, or of a non-NFC form, is upgraded while the password
      // is at hand, in the same write as what follows (the mfa_token or the session): an
      // account with a second factor is upgraded too, or it never would be.
      const rehashed = rehash
        ? [rehashPassword(db, user.id, await hashPassword(password, config.bcryptCost), now)]
        : [];
      // An account with a second factor gets a 403 mfa_required and an mfa_token instead.
      await requireSecondFactor(db, user.id, mfaMethods(summary(factors[0])), now, rehashed);

      const refresh = await newRefresh(config, now);
      const token = { id: crypto.randomUUID(), ...refresh, ...clientOf(c), amr: "pwd" };
      // One write round trip: the session, the rehash and a failure reset when due.
      await db.batch([
        insertSession(db, user.id, token, now),
        auditEvent(
          db,
          { type: "login_succeeded", userId: user.id, actor: { type: "user", id: user.id }, source: auditSourceOf(c) },
          now,
        ),
        ...rehashed,
        ...(record ? [clearFailures(db, email)] : []),
      ]);
      c.header("Cache-Control", "no-store");
      const body = signedIn(user, await tokenPair(user, token.id, refresh.refreshToken, config, ["pwd"]));
      return c.json(deliverTokens(c, body, refresh_transport), 200);
    },
  );
