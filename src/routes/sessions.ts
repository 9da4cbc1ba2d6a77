import { eq } from "drizzle-orm";
import { Hono } from "hono";
import * as z from "zod/mini";
import { clientOf, hashRefreshToken, newRefresh, tokenPair } from "../auth/sessions";
import { sessions } from "../db/schema";
import { findByTokenHash, listLive, revokeAll, revokeFamily, rotate } from "../db/sessions";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { password, REQUIRED, refreshTransport } from "../fields";
import { log } from "../log";
import { jsonBody } from "../middleware/json-body";
import { rateLimit } from "../middleware/rate-limit";
import {
  assertCookieRequest,
  clearRefreshCookie,
  cookieRequestsAreJson,
  deliverTokens,
  readRefreshCookie,
} from "../middleware/refresh-cookie";
import { requireSession } from "../middleware/require-auth";

/** Ours are 43 characters; anything much longer is not worth hashing. */
const MAX_REFRESH_TOKEN_LENGTH = 128;

/** `refresh_token` may be left out when the request carries the refresh cookie. */
export const refreshBody = z.object({
  refresh_token: z.optional(password("refresh_token")),
  refresh_transport: refreshTransport(),
});

export const sessionRoutes = new Hono<AppEnv>()
  .post("/token/refresh", cookieRequestsAreJson, jsonBody(refreshBody), rateLimit("REFRESH_RATE_LIMIT"), async (c) => {
    const body = c.req.valid("json");
    const { config, db } = c.var;
    // A token in the body wins; without one, the cookie is the credential, and only
    // allowed pages may use it (CSRF). A token that came in a cookie goes back in one,
    // whatever the body asks: page scripts must never get to read it.
    const cookie = body.refresh_token === undefined ? readRefreshCookie(c) : undefined;
    if (body.refresh_token === undefined && cookie === undefined) {
      if (body.refresh_transport === "cookie") throw new ApiError("invalid_token");
      throw new ApiError("invalid_input", REQUIRED);
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
    if (row.replacedBy) {
      // Already rotated when presented: a copy is in someone else's hands. Revoke the
      // whole family, so the thief and the legitimate holder must both log in again.
      await revokeFamily(db, row.userId, row.familyId, now);
      log(c, "warn", "refresh_token_reuse", { session_id: row.familyId, user_id: row.userId });
      throw new ApiError("invalid_token");
    }
    const refresh = await newRefresh(config, now);
    const next = { id: crypto.randomUUID(), ...refresh, ...clientOf(c) };
    const [won] = await db.batch(rotate(db, eq(sessions.id, row.id), next, now));
    // Live when read, gone when written: a concurrent refresh with the same token won.
    if (won.length === 0) throw new ApiError("invalid_token");
    c.header("Cache-Control", "no-store");
    const user = { id: row.userId, email: row.email, role: row.role };
    return c.json(deliverTokens(c, await tokenPair(user, row.familyId, refresh.refreshToken, config), transport));
  })
  // The cookie (Path=/token) never reaches these: the access token's `sid` names the
  // session, which is the cookie's refresh-token family, and the cookie is cleared.
  .post("/logout", requireSession, async (c) => {
    const { claims, db, user } = c.var;
    await revokeFamily(db, user.id, claims.sid ?? "", new Date());
    clearRefreshCookie(c);
    return c.body(null, 204);
  })
  .post("/logout/all", requireSession, async (c) => {
    await revokeAll(c.var.db, c.var.user.id, new Date());
    clearRefreshCookie(c);
    return c.body(null, 204);
  })
  .get("/sessions", requireSession, async (c) => {
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
  })
  .delete("/sessions/:id", requireSession, async (c) => {
    // Someone else's session id gets the same 404 as a made-up one: ids can't be probed.
    const revoked = await revokeFamily(c.var.db, c.var.user.id, c.req.param("id"), new Date());
    if (revoked === 0) throw new ApiError("not_found", "No such session");
    return c.body(null, 204);
  });
