import { eq } from "drizzle-orm";
import type { Ctx } from "../platform/context";
import type { Statement } from "../platform/db";
import { ApiError } from "../platform/errors";
import { sessions } from "../platform/schema";
import { auditEvent, auditIfChanged, userEvent } from "./audit";
import {
  findByTokenHash,
  type NewToken,
  revokeAll,
  revokeFamilyBefore,
  revokeFamilyQuery,
  rotate,
} from "./queries/sessions";
import { retireFor } from "./retirement";
import {
  hashRefreshToken,
  newRefresh,
  type RefreshTransport,
  type Started,
  type TokenPair,
  tokenPair,
} from "./sessions";
import type { TokenSubject } from "./tokens";

// A session after its start: refreshed (rotation, with the reuse interval and theft
// detection) and ended (one session, one family, all of a user's).

/** Ours are 43 characters; anything much longer is not worth hashing. */
export const MAX_REFRESH_TOKEN_LENGTH = 128;

/** Rows rotated at or after `since` may be presented again (`REFRESH_REUSE_INTERVAL`). */
function reuseWindow(seconds: number, id: string, now: Date) {
  return seconds > 0 ? { id, since: new Date(now.getTime() - seconds * 1000) } : undefined;
}

/**
 * Trades `refreshToken` for a new pair of the same session (rotation: the token sent is
 * spent), answered in `transport`. Presented again within REFRESH_REUSE_INTERVAL of its
 * rotation (two tabs, a retry) it gets a branch of its own; later, a copy is in someone
 * else's hands: the whole family is revoked, `refresh_token_reused` audited, the email
 * change that session asked for retired. Unknown, expired, revoked, disabled or reused:
 * 401 `invalid_token`.
 */
export async function rotateSession(
  ctx: Ctx,
  refreshToken: string,
  transport: RefreshTransport,
): Promise<Started<TokenPair>> {
  const { config, db, now } = ctx;
  if (refreshToken.length > MAX_REFRESH_TOKEN_LENGTH) throw new ApiError("invalid_token");
  const row = await findByTokenHash(db, await hashRefreshToken(refreshToken));
  // A disabled account's sessions were revoked with it; the check covers a row
  // disabled by hand in D1 as well.
  if (!row || row.revokedAt || row.expiresAt <= now || row.disabled) throw new ApiError("invalid_token");
  // Only the API's own sessions refresh here: an OAuth grant's refresh token works only at
  // POST /oauth/token (for its client), the authorization server's cookie nowhere.
  if (row.kind !== "api") throw new ApiError("invalid_token");
  const refresh = await rotateRow(ctx, row);
  if (!refresh) throw new ApiError("invalid_token");
  const user = { id: row.userId, email: row.email, role: row.role, emailVerifiedAt: row.emailVerifiedAt };
  return {
    body: await tokenPair(user, row.familyId, refresh.refreshToken, config, row.amr?.split(" ")),
    transport,
  };
}

/** A live refresh token's row as `findByTokenHash` returns it. */
export type RefreshRow = NonNullable<Awaited<ReturnType<typeof findByTokenHash>>>;

/**
 * Spends the refresh token of `row` (live: not revoked, not expired, its user enabled) for a
 * new one of the same family, whatever its kind: the one rotation every refresh goes through
 * (`rotateSession` here, an OAuth grant's at POST /oauth/token). Presented again within
 * REFRESH_REUSE_INTERVAL of its rotation (two tabs, a retry) it gets a branch of its own;
 * later, a copy is in someone else's hands: the whole family is revoked,
 * `refresh_token_reused` audited, the email change that session asked for retired, and
 * undefined returned. Undefined too when a concurrent rotation won. `also` joins the
 * rotation's batch (an OAuth client's last use).
 */
export async function rotateRow(
  ctx: Ctx,
  row: RefreshRow,
  also: readonly Statement[] = [],
): Promise<{ refreshToken: string } | undefined> {
  const { config, db, now, source } = ctx;
  // A token rotated within the reuse interval is being presented again by its holder
  // (two tabs, a retry after a lost answer): it gets a branch of its own below.
  const reuse = reuseWindow(config.refreshReuseSeconds, row.id, now);
  if (row.replacedBy && !(reuse && row.lastUsedAt >= reuse.since)) {
    // Rotated longer ago than that: a copy is in someone else's hands. Revoke the
    // whole family, so the thief and the legitimate holder must both log in again.
    const details = { session_id: row.familyId, ...(row.clientId && { client_id: row.clientId }) };
    await db.batch([
      revokeFamilyQuery(db, row.userId, row.familyId, now),
      auditEvent(
        db,
        { type: "refresh_token_reused", userId: row.userId, actor: { type: "system" }, source, details },
        now,
      ),
      // An email change that session asked for dies with it.
      ...retireFor(db, "refresh_token_reused", row.userId, now, { sid: row.familyId }),
    ]);
    ctx.log("warn", "refresh_token_reuse", { session_id: row.familyId, user_id: row.userId });
    return undefined;
  }
  if (row.replacedBy) ctx.log("info", "refresh_token_reused_within_interval", { session_id: row.familyId });
  const refresh = await newRefresh(config, now);
  const next: NewToken = { id: crypto.randomUUID(), ...refresh, userAgent: source.userAgent, ip: source.ip };
  const [, inserted] = await db.batch([...rotate(db, eq(sessions.id, row.id), next, now, reuse), ...also] as [
    Statement,
    ...Statement[],
  ]);
  // Nothing inserted: revoked or expired in the meantime, or (with no reuse interval) a
  // concurrent refresh with the same token won.
  return (inserted as unknown[]).length === 0 ? undefined : { refreshToken: refresh.refreshToken };
}

/**
 * Moves the session `sid` of `user` to a new refresh token with the change that asks for
 * it (a password change) in one batch: `before` (the change), the rotation, every earlier
 * refresh token of the session revoked (none is reusable, not even within the reuse
 * interval), then `after` (its audit event, the flows it retires). The new pair keeps
 * the session's `amr`. 401 `invalid_token` when the session was no longer live.
 */
export async function renewSession(
  ctx: Ctx,
  {
    user,
    sid,
    amr,
    transport,
  }: { user: TokenSubject; sid: string; amr?: readonly string[]; transport: RefreshTransport },
  { before, after }: { before: readonly Statement[]; after: readonly Statement[] },
): Promise<Started<TokenPair>> {
  const { config, db, source } = ctx;
  const now = new Date();
  const refresh = await newRefresh(config, now);
  const next: NewToken = { id: crypto.randomUUID(), ...refresh, userAgent: source.userAgent, ip: source.ip };
  const results = await db.batch([
    ...before,
    ...rotate(db, eq(sessions.familyId, sid), next, now),
    revokeFamilyBefore(db, sid, next.id, now),
    ...after,
  ] as [Statement, ...Statement[]]);
  if ((results[before.length] as unknown[]).length === 0) throw new ApiError("invalid_token");
  return { body: await tokenPair(user, sid, refresh.refreshToken, config, amr), transport };
}

/** Ends the session (refresh-token family) `sid` of `userId`, its own logout: audited as
 * `logout`. */
export async function endSession(ctx: Ctx, userId: string, sid: string): Promise<void> {
  const { db, now, source } = ctx;
  await db.batch([
    revokeFamilyQuery(db, userId, sid, now),
    auditEvent(db, userEvent("logout", userId, source, { session_id: sid }), now),
  ]);
}

/** Revokes one of `userId`'s sessions by id (from GET /sessions), audited as
 * `session_revoked` only when it was live; the email change it asked for dies with it.
 * False when `familyId` is none of the user's live sessions. */
export async function revokeSession(ctx: Ctx, userId: string, familyId: string): Promise<boolean> {
  const { db, now, source } = ctx;
  const event = userEvent("session_revoked", userId, source, { session_id: familyId });
  const [revoked] = await db.batch([
    ...auditIfChanged(db, revokeFamilyQuery(db, userId, familyId, now), event, now),
    ...retireFor(db, "session_revoked", userId, now, { sid: familyId }),
  ]);
  return revoked.length > 0;
}

/** Ends every session of `userId` (POST /logout/all), audited as `logout` with
 * `scope: all`; the flows those sessions could finish die too. */
export async function endAllSessions(ctx: Ctx, userId: string): Promise<void> {
  const { db, now, source } = ctx;
  await db.batch([
    revokeAll(db, userId, now),
    auditEvent(db, userEvent("logout", userId, source, { scope: "all" }), now),
    ...retireFor(db, "logout_all", userId, now),
  ]);
}
