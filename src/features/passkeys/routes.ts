import { Hono } from "hono";
import { deliverSession } from "../../identity/delivery";
import { requireSession } from "../../identity/guards";
import { listPasskeys, renamePasskey } from "../../identity/queries/passkeys";
import { signedInJson } from "../../identity/schemas";
import { mfaTokenBody } from "../../identity/sign-in";
import { authenticationOptions, registerPasskey, registrationOptions } from "../../identity/webauthn";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { describe } from "../../platform/openapi/describe";
import {
  authenticationOptionsJson,
  deletePasskeyBody,
  newPasskeyBody,
  passkeyJson,
  passkeyList,
  passkeyLoginBody,
  passkeyLoginOptions,
  passkeySchema,
  registrationOptionsJson,
  renamePasskeyBody,
} from "./schemas";
import { deletePasskeyOf, mfaPasskeyOptions, passkeyLogin } from "./service";

/** Passkeys: registration and management (session-checked), passwordless login, and the
 * options for a passkey as the second factor of a password login. */
export const passkeyRoutes = new Hono<AppEnv>()
  .post(
    "/me/passkeys/options",
    describe({
      operationId: "passkeyRegistrationOptions",
      tag: "Second factors",
      summary: "Start registering a passkey",
      description:
        "Registration options: resident key and user verification preferred, the user's passkeys excluded. The challenge lives 5 minutes and works once.",
      access: "session",
      ok: { status: 200, description: "Registration options", json: registrationOptionsJson, cacheControl: "no-store" },
    }),
    requireSession,
    async (c) => {
      c.header("Cache-Control", "no-store");
      return c.json(await registrationOptions(ctxOf(c), c.var.user));
    },
  )
  .post(
    "/me/passkeys",
    describe({
      operationId: "registerPasskey",
      tag: "Second factors",
      summary: "Finish registering a passkey",
      description:
        "`response` is the browser's RegistrationResponseJSON. Wrong origin, RP ID or challenge, or a credential already registered: 400 invalid_credentials.",
      access: "session",
      ok: { status: 201, description: "The new passkey", json: passkeySchema },
      errors: ["invalid_input", "invalid_credentials"],
    }),
    requireSession,
    jsonBody(newPasskeyBody),
    async (c) => {
      const body = c.req.valid("json");
      const row = await registerPasskey(ctxOf(c), c.var.user, body.response, body.name ?? "Passkey", new Date());
      if (!row) throw new ApiError("invalid_credentials");
      return c.json(passkeyJson(row), 201);
    },
  )
  .get(
    "/me/passkeys",
    describe({
      operationId: "listPasskeys",
      tag: "Second factors",
      summary: "The caller's passkeys",
      access: "session",
      ok: { status: 200, description: "Newest first", json: passkeyList },
    }),
    requireSession,
    async (c) => {
      const rows = await listPasskeys(c.var.db, c.var.user.id);
      return c.json({ passkeys: rows.map(passkeyJson) });
    },
  )
  .patch(
    "/me/passkeys/:id",
    describe({
      operationId: "renamePasskey",
      tag: "Second factors",
      summary: "Rename a passkey",
      access: "session",
      params: { id: "A passkey id from GET /me/passkeys" },
      ok: { status: 200, description: "The renamed passkey", json: passkeySchema },
      errors: ["invalid_input", "not_found"],
    }),
    requireSession,
    jsonBody(renamePasskeyBody),
    async (c) => {
      const [row] = await renamePasskey(c.var.db, c.var.user.id, c.req.param("id"), c.req.valid("json").name);
      if (!row) throw new ApiError("not_found", "No such passkey");
      return c.json(passkeyJson(row));
    },
  )
  .delete(
    "/me/passkeys/:id",
    describe({
      operationId: "deletePasskey",
      tag: "Second factors",
      summary: "Delete a passkey",
      description:
        "Needs the password, or another factor as `code` (a TOTP code or a recovery code). The check counts toward the account's lockout and a per-IP limit, as a login does (429 rate_limited + Retry-After; while locked even the right one is refused).",
      access: "session",
      params: { id: "A passkey id from GET /me/passkeys" },
      ok: { status: 204, description: "Deleted" },
      errors: ["invalid_input", "invalid_credentials", "not_found", "rate_limited"],
    }),
    requireSession,
    jsonBody(deletePasskeyBody),
    async (c) => {
      const deleted = await deletePasskeyOf(ctxOf(c), c.var.user, c.req.param("id"), c.req.valid("json"));
      if (!deleted) throw new ApiError("not_found", "No such passkey");
      return c.body(null, 204);
    },
  )
  .post(
    "/login/passkey/options",
    describe({
      operationId: "passkeyLoginOptions",
      tag: "Auth",
      summary: "Start a passwordless login",
      description:
        "Options for a discoverable credential (empty allowCredentials, user verification required) and the challenge_id to send back.",
      access: "public",
      ok: { status: 200, description: "Authentication options", json: passkeyLoginOptions, cacheControl: "no-store" },
      errors: ["rate_limited"],
    }),
    rateLimit("LOGIN_RATE_LIMIT"),
    async (c) => {
      const { options, challengeId } = await authenticationOptions(ctxOf(c), null);
      c.header("Cache-Control", "no-store");
      return c.json({ options, challenge_id: challengeId });
    },
  )
  .post(
    "/login/passkey",
    describe({
      operationId: "passkeyLogin",
      tag: "Auth",
      summary: "Log in with a passkey alone",
      description:
        'A passkey with user verification is a complete login: no password, no further factor. The signature counter must move forward (a regression is refused and logged). Wrong origin, RP ID or challenge, an unknown credential or a replayed assertion: 400 invalid_credentials. `amr` is `["hwk"|"swk","user","mfa"]`.',
      access: "public",
      ok: { status: 200, description: "As POST /login", json: signedInJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_credentials", "rate_limited"],
    }),
    jsonBody(passkeyLoginBody),
    rateLimit("LOGIN_RATE_LIMIT"),
    async (c) => c.json(deliverSession(c, await passkeyLogin(ctxOf(c), c.req.valid("json"))), 200),
  )
  .post(
    "/login/mfa/webauthn/options",
    describe({
      operationId: "loginMfaWebAuthnOptions",
      tag: "Auth",
      summary: "Passkey challenge for the second step of a login",
      description: "Options naming the account's passkeys; the challenge lives 5 minutes and works once.",
      access: "public",
      ok: {
        status: 200,
        description: "Authentication options",
        json: authenticationOptionsJson,
        cacheControl: "no-store",
      },
      errors: ["invalid_input", "invalid_credentials", "rate_limited"],
    }),
    jsonBody(mfaTokenBody),
    rateLimit("LOGIN_RATE_LIMIT"),
    async (c) => {
      const options = await mfaPasskeyOptions(ctxOf(c), c.req.valid("json").mfa_token);
      c.header("Cache-Control", "no-store");
      return c.json({ options });
    },
  );
