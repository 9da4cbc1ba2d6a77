import { Hono } from "hono";
import { deliverSession } from "../../identity/delivery";
import { exchangeLoginCode } from "../../identity/exchange";
import { signedInJson, userJson } from "../../identity/schemas";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { afterResponse, deliver } from "../../platform/mail/send";
import { describe } from "../../platform/openapi/describe";
import { exchangeBody, loginBody, registerBody, registeredJson } from "./schemas";
import { login, register } from "./service";

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
        json: registeredJson,
        cacheControl: "no-store",
      },
      errors: ["invalid_input", "user_exists", "rate_limited"],
    }),
    jsonBody(registerBody),
    rateLimit("REGISTER_RATE_LIMIT"),
    async (c) => {
      const { user, started, verificationMail } = await register(ctxOf(c), c.req.valid("json"));
      if (verificationMail) afterResponse(c, "verify_mail_failed", () => deliver(c, "verify_email", verificationMail));
      if (!started) {
        c.header("Cache-Control", "no-store");
        return c.json(userJson(user), 201);
      }
      return c.json(deliverSession(c, started), 201);
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
    async (c) => c.json(deliverSession(c, await login(ctxOf(c), c.req.valid("json"))), 200),
  )
  .post(
    "/login/exchange",
    describe({
      operationId: "exchangeLoginCode",
      tag: "Auth",
      summary: "Trade a one-time sign-in code for a session",
      description:
        'The end of every sign-in that finishes in a browser redirect (social sign-in, an email link): the redirect to your app carries `code=<one-time code>` in its query, never a token, and your app sends that code here. The code works once, within 60 seconds; an unknown, expired or used one, or one whose account was disabled since, is 400 invalid_code. The answer is exactly POST /login\'s: the user and a token pair (the refresh token in the HttpOnly cookie with `refresh_transport: "cookie"`), or 403 mfa_required with `mfa_token` and `mfa_methods` when the account has a second factor (the code counts as one factor): finish at POST /login/mfa. Well-formed requests count against the per-IP login limit (429).',
      access: "public",
      ok: { status: 200, description: "The user and a fresh token pair", json: signedInJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_code", "email_not_verified", "mfa_required", "rate_limited"],
    }),
    jsonBody(exchangeBody),
    rateLimit("LOGIN_RATE_LIMIT"),
    async (c) => {
      const { code, refresh_transport } = c.req.valid("json");
      return c.json(deliverSession(c, await exchangeLoginCode(ctxOf(c), code, refresh_transport)), 200);
    },
  );
