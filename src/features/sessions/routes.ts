import { eq } from "drizzle-orm";
import { Hono } from "hono";
import * as z from "zod/mini";
import { auditEvent } from "../../identity/audit";
import {
  assertCookieRequest,
  clearRefreshCookie,
  cookieRequestsAreJson,
  deliverTokens,
  readRefreshCookie,
} from "../../identity/delivery";
import { requireSession } from "../../identity/guards";
import { findByTokenHash, listLive, revokeAll, revokeFamilyQuery, rotate } from "../../identity/queries/sessions";
import { auditSourceOf, clientOf, hashRefreshToken, newRefresh, tokenPair } from "../../identity/sessions";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { password, refreshTransport } from "../../platform/fields";
import { jsonBody, respelled } from "../../platform/http/json-body";
import { rateLimit } from "../../platform/http/rate-limit";
import { log } from "../../platform/log";
import { describe, doc, named, timestamp, tokenPair as tokenPairJson, uuid } from "../../platform/openapi";
import { sessions } from "../../platform/schema";
import { retireFor } from "../../platform/single-use";

/** Ours are 43 characters; anything much longer is not worth hashing. */
const MAX_REFRESH_TOKEN_LENGTH = 128;

/** Rows rotated at or after `since` may be presented again (`REFRESH_REUSE_INTERVAL`). */
function reuseWindow(seconds: number, id: string, now: Date) {
  return seconds > 0 ? { id, since: new Date(now.getTime() - seconds * 1000) } : undefined;
}

/** `refresh_token` may be left out when the request carries the refresh cookie. */
export const refreshBody = named(
  "RefreshBody",
  z.object({
    refresh_token: z.optional(password("refresh_token")),
    refresh_transport: refreshTransport(),
  }),
);

const sessionJson = named(
  "Session",
  z.object({
    id: uuid("The session id, for DELETE /sessions/{id}"),
    created_at: timestamp(),
    last_used_at: timestamp(),
    user_agent: z.nullable(z.string()),
    ip: doc(z.nullable(z.string()), "From CF-Connecting-IP only; null under wrangler dev"),
    current: doc(z.boolean(), "The session of the token making this request"),
  }),
);

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
      const { config, db } = c.var;
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
      const now = new Date();
      if (refresh_token.length > MAX_REFRESH_TOKEN_LENGTH) throw new ApiError("invalid_token");
      const row = await findByTokenHash(db, await hashRefreshToken(refresh_token));
      // A disabled account's sessions were revoked with it; the check covers a row
      // disabled by hand in D1 as well.
      if (!row || row.revokedAt || row.expiresAt <= now || row.disabled) throw new ApiError("invalid_token");
      // A token rotated within the reuse interval is being presented again by its holder
      // (two tabs, a retry after a lost answer): it gets a branch of its own below.
      const reuse = reuseWindow(config.refreshReuseSeconds, row.id, now);
      if (row.replacedBy && !(reuse && row.lastUsedAt >= reuse.since)) {
        // Rotated longer ago than that: a copy is in someone else's hands. Revoke the
        // whole family, so the thief and the legitimate holder must both log in again.
        await db.batch([
          revokeFamilyQuery(db, row.userId, row.familyId, now),
          auditEvent(
            db,
            {
              type: "refresh_token_reused",
              userId: row.userId,
              actor: { type: "system" },
              source: auditSourceOf(c),
              details: { session_id: row.familyId },
            },
            now,
          ),
          // An email change that session asked for dies with it.
          ...retireFor(db, "refresh_token_reused", row.userId, now, { sid: row.familyId }),
        ]);
        log(c, "warn", "refresh_token_reuse", { session_id: row.familyId, user_id: row.userId });
        throw new ApiError("invalid_token");
      }
      if (row.replacedBy) log(c, "info", "refresh_token_reused_within_interval", { session_id: row.familyId });
      const refresh = await newRefresh(config, now);
      const next = { id: crypto.randomUUID(), ...refresh, ...clientOf(c) };
      const [, inserted] = await db.batch(rotate(db, eq(sessions.id, row.id), next, now, reuse));
      // Nothing inserted: revoked or expired in the meantime, or (with no reuse interval) a
      // concurrent refresh with the same token won.
      if (inserted.length === 0) throw new ApiError("invalid_token");
      c.header("Cache-Control", "no-store");
      const user = { id: row.userId, email: row.email, role: row.role, emailVerifiedAt: row.emailVerifiedAt };
      return c.json(
        deliverTokens(
          c,
          await tokenPair(user, row.familyId, refresh.refreshToken, config, row.amr?.split(" ")),
          transport,
        ),
      );
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
      const { claims, db, user } = c.var;
      const now = new Date();
      const sid = claims.sid ?? "";
      const actor = { type: "user", id: user.id } as const;
      await db.batch([
        revokeFamilyQuery(db, user.id, sid, now),
        auditEvent(
          db,
          { type: "logout", userId: user.id, actor, source: auditSourceOf(c), details: { session_id: sid } },
          now,
        ),
      ]);
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
      const { db, user } = c.var;
      const now = new Date();
      const actor = { type: "user", id: user.id } as const;
      await db.batch([
        revokeAll(db, user.id, now),
        auditEvent(
          db,
          { type: "logout", userId: user.id, actor, source: auditSourceOf(c), details: { scope: "all" } },
          now,
        ),
        ...retireFor(db, "logout_all", user.id, now),
      ]);
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
      const { db, user } = c.var;
      const now = new Date();
      const id = c.req.param("id");
      const event = { type: "session_revoked", userId: user.id, actor: { type: "user", id: user.id } } as const;
      const [revoked] = await db.batch([
        revokeFamilyQuery(db, user.id, id, now),
        auditEvent(db, { ...event, source: auditSourceOf(c), details: { session_id: id } }, now, {
          onlyIfChanged: true,
        }),
        // An email change that session asked for dies with it.
        ...retireFor(db, "session_revoked", user.id, now, { sid: id }),
      ]);
      if (revoked.length === 0) throw new ApiError("not_found", "No such session");
      return c.body(null, 204);
    },
  );
