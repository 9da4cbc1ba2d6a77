import { Hono } from "hono";
import * as z from "zod/mini";
import {
  assertCookieRequest,
  clearRefreshCookie,
  cookieRequestsAreJson,
  deliverSession,
  readRefreshCookie,
} from "../../identity/delivery";
import { requireSession } from "../../identity/guards";
import { listLive } from "../../identity/queries/sessions";
import { endAllSessions, endSession, revokeSession, rotateSession } from "../../identity/rotation";
import { tokenPair as tokenPairJson } from "../../identity/schemas";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { jsonBody, respelled } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { describe, named } from "../../platform/openapi/describe";
import { refreshBody, sessionJson } from "./schemas";

export const sessionRoutes = new Hono<AppEnv>()
  .post(
    "/token/refresh",
    describe({
      operationId: "refreshToken",
      tag: "Sessions",
      summary: "Trade a refresh token for a new token pair",
      description:
        'Rotation: the refresh token sent is spent. Presented again within REFRESH_REUSE_INTERVAL (10 s) of its rotation (two tabs, a retry) it gets a fresh pair of its own for the same session; later, it revokes its whole session (reuse detection). Unknown, expired, revoked or reused: 401 invalid_token. Without `refresh_token` in the body the `__Secure-refresh_token` cookie is used and replaced by a new one (never the body, whatever `refresh_transport` says); such a request must be `application/json` from an origin in CORS_ORIGINS (or the PUBLIC_URL origin, or `Sec-Fetch-Site: same-origin`), else 403 forbidden. `refresh_transport: "cookie"` with no cookie: 401 invalid_token.',
      cookie: true,
      access: "public",
      ok: { status: 200, description: "A new token pair", json: tokenPairJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_token", "forbidden", "rate_limited"],
    }),
    cookieRequestsAreJson,
    jsonBody(refreshBody),
    rateLimit("REFRESH_RATE_LIMIT"),
    async (c) => {
      const body = c.req.valid("json");
      // A token in the body wins; without one, the cookie is the credential, and only
      // allowed pages may use it (CSRF). A token that came in a cookie goes back in one,
      // whatever the body asks: page scripts must never get to read it.
      const cookie = body.refresh_token === undefined ? readRefreshCookie(c) : undefined;
      if (body.refresh_token === undefined && cookie === undefined) {
        if (body.refresh_transport === "cookie") throw new ApiError("invalid_token");
        // The tutorial's message, naming refresh_token when the body has it as refreshToken.
        throw new ApiError("invalid_input", respelled(["refresh_token"], await c.req.json()));
      }
      if (cookie !== undefined) assertCookieRequest(c);
      const refresh_token = body.refresh_token ?? cookie ?? "";
      const transport = cookie === undefined ? body.refresh_transport : "cookie";
      return c.json(deliverSession(c, await rotateSession(ctxOf(c), refresh_token, transport)));
    },
  )
  .post(
    "/logout",
    describe({
      operationId: "logout",
      tag: "Sessions",
      summary: "Revoke the current session",
      description: "Also clears the refresh cookie (`Max-Age=0`, Path=/token).",
      access: "session",
      ok: { status: 204, description: "Revoked" },
    }),
    requireSession,
    async (c) => {
      await endSession(ctxOf(c), c.var.user.id, c.var.claims.sid ?? "");
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  )
  .post(
    "/logout/all",
    describe({
      operationId: "logoutAll",
      tag: "Sessions",
      summary: "Revoke every session of the user",
      description: "Also clears the refresh cookie (`Max-Age=0`, Path=/token).",
      access: "session",
      ok: { status: 204, description: "All revoked" },
    }),
    requireSession,
    async (c) => {
      await endAllSessions(ctxOf(c), c.var.user.id);
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  )
  .get(
    "/sessions",
    describe({
      operationId: "listSessions",
      tag: "Sessions",
      summary: "List the user's live sessions",
      access: "session",
      ok: {
        status: 200,
        description: "Live sessions only",
        json: named("SessionList", z.object({ sessions: z.array(sessionJson) })),
      },
    }),
    requireSession,
    async (c) => {
      const { claims, db, user } = c.var;
      const live = await listLive(db, user.id, new Date());
      return c.json({
        sessions: live.map((session) => ({
          id: session.id,
          created_at: session.createdAt.toISOString(),
          last_used_at: session.lastUsedAt.toISOString(),
          user_agent: session.userAgent,
          ip: session.ip,
          current: session.id === claims.sid,
        })),
      });
    },
  )
  .delete(
    "/sessions/:id",
    describe({
      operationId: "revokeSession",
      tag: "Sessions",
      summary: "Revoke one of the user's sessions",
      description: "An id that is not one of the caller's live sessions is 404, never 403: ids cannot be probed.",
      access: "session",
      params: { id: "A session id from GET /sessions" },
      ok: { status: 204, description: "Revoked" },
      errors: ["not_found"],
    }),
    requireSession,
    async (c) => {
      // Someone else's session id gets the same 404 as a made-up one: ids can't be probed.
      const revoked = await revokeSession(ctxOf(c), c.var.user.id, c.req.param("id"));
      if (!revoked) throw new ApiError("not_found", "No such session");
      return c.body(null, 204);
    },
  );
