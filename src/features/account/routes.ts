import { Hono } from "hono";
import { decodeAuditCursor, encodeAuditCursor, listAuditEvents } from "../../identity/audit";
import { clearRefreshCookie, deliverSession } from "../../identity/delivery";
import { requireSession, requireSessionClaims } from "../../identity/guards";
import { factorsQuery, summary } from "../../identity/queries/factors";
import { liveSessionUserQuery } from "../../identity/queries/sessions";
import {
  account,
  accountJson,
  accountWithFactors,
  activityJson,
  activityPage,
  tokenPair as tokenPairJson,
} from "../../identity/schemas";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody, queryParams } from "../../platform/http/json-body";
import { describe } from "../../platform/openapi/describe";
import { updateNames } from "./queries";
import { ACTIVITY_PAGE, activityQuery, changePasswordBody, deleteMeBody, patchMeBody } from "./schemas";
import { changePassword, deleteAccount } from "./service";

export const me = new Hono<AppEnv>()
  .get(
    "/me",
    describe({
      operationId: "getMe",
      tag: "Account",
      summary: "The caller's account",
      access: "session",
      ok: { status: 200, description: "The account and its enrolled second factors", json: accountWithFactors },
    }),
    requireSessionClaims,
    async (c) => {
      const { claims, db } = c.var;
      if (!claims.sid) throw new ApiError("invalid_token");
      // The session check and the factor counts in one round trip.
      const [[user], [factors]] = await db.batch([
        liveSessionUserQuery(db, claims.sid, claims.sub, new Date()),
        factorsQuery(db, claims.sub),
      ]);
      if (!user) throw new ApiError("invalid_token");
      return c.json({ ...accountJson(user), mfa: summary(factors) });
    },
  )
  .get(
    "/me/activity",
    describe({
      operationId: "getMyActivity",
      tag: "Account",
      summary: "The caller's recent security events",
      description: "Newest first, 20 per page: logins (and failed ones), logouts, password changes, admin changes.",
      access: "session",
      ok: { status: 200, description: "One page", json: activityPage, cacheControl: "no-store" },
      errors: ["invalid_input"],
    }),
    requireSession,
    queryParams(activityQuery),
    async (c) => {
      const { cursor } = c.req.valid("query");
      const after = cursor === undefined ? undefined : decodeAuditCursor(cursor);
      if (cursor !== undefined && !after) throw new ApiError("invalid_input", "cursor is not valid");
      const rows = await listAuditEvents(c.var.db, { userId: c.var.user.id, after, limit: ACTIVITY_PAGE + 1 });
      const page = rows.slice(0, ACTIVITY_PAGE);
      const last = page.at(-1);
      c.header("Cache-Control", "no-store");
      return c.json({
        events: page.map(activityJson),
        next_cursor:
          rows.length > ACTIVITY_PAGE && last ? encodeAuditCursor({ time: last.time.getTime(), id: last.id }) : null,
      });
    },
  )
  .patch(
    "/me",
    describe({
      operationId: "updateMe",
      tag: "Account",
      summary: "Change the caller's names",
      description:
        "Register's rules for names. Anything else in the body (email, role, id) is ignored; nothing to change is 400.",
      access: "session",
      ok: { status: 200, description: "The updated account", json: account },
      errors: ["invalid_input"],
    }),
    requireSession,
    jsonBody(patchMeBody),
    async (c) => {
      const names = c.req.valid("json");
      if (names.firstName === undefined && names.lastName === undefined) {
        throw new ApiError("invalid_input", "Nothing to update: send firstName and/or lastName");
      }
      const user = await updateNames(c.var.db, c.var.user.id, names, new Date());
      if (!user) throw new ApiError("invalid_token");
      return c.json(accountJson(user));
    },
  )
  .post(
    "/me/password",
    describe({
      operationId: "changePassword",
      tag: "Account",
      summary: "Change the password",
      description:
        "Revokes every other session and answers a fresh token pair for this one; pending email changes, logins waiting for a second factor and reset links die. A wrong current password is 400 invalid_credentials. The check counts toward the account's lockout and a per-IP limit, as a login does (429 rate_limited + Retry-After; while locked even the right one is refused).",
      access: "session",
      ok: { status: 200, description: "A fresh token pair", json: tokenPairJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_credentials", "rate_limited"],
    }),
    requireSession,
    jsonBody(changePasswordBody),
    async (c) => {
      const started = await changePassword(ctxOf(c), c.var.user, c.var.claims, c.req.valid("json"));
      return c.json(deliverSession(c, started));
    },
  )
  .delete(
    "/me",
    describe({
      operationId: "deleteMe",
      tag: "Account",
      summary: "Delete the account",
      description:
        "The user and all its sessions are gone; the email can register again. The password is checked again (400 invalid_credentials). The check counts toward the account's lockout and a per-IP limit, as a login does (429 rate_limited + Retry-After; while locked even the right one is refused).",
      access: "session",
      ok: { status: 204, description: "Deleted" },
      errors: ["invalid_input", "invalid_credentials", "rate_limited"],
    }),
    requireSession,
    jsonBody(deleteMeBody),
    async (c) => {
      await deleteAccount(ctxOf(c), c.var.user, c.req.valid("json").password);
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  );
