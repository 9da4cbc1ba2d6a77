import { and, eq, exists, gt, isNull, sql } from "drizzle-orm";
import type { Ctx } from "../platform/context";
import type { Db, Statement } from "../platform/db";
import { sessions, singleUseTokens } from "../platform/schema";
import { auditEvent, auditIfChanged, userEvent } from "./audit";
import { findByTokenHash, insertSession, liveSessionUserQuery, revokeFamilyQuery } from "./queries/sessions";
import { type RefreshRow, rotateRow } from "./rotation";
import { hashRefreshToken, newRefresh } from "./sessions";

// An OAuth grant (RFC 6749) is a session family of kind `oauth`: its rows hold the client,
// the granted scope, the resource (RFC 8707), `auth_time`, `amr` and the id of the
// authorization code it began with. So rotation with reuse detection, "end all sessions",
// password change and account disable cover OAuth grants as they cover the API's own
// sessions; this module is the only one that starts, rotates and ends them.

/** What an authorization code granted, as the grant keeps it. */
export type GrantStart = {
  userId: string;
  clientId: string;
  /** Granted scopes, space-separated, sorted. */
  scope: string;
  resource: string | null;
  /** When the person authenticated (OpenID Connect `auth_time`). */
  authTime: Date;
  /** The `oauth_code` single-use row the grant began with. */
  codeId: string;
  /** How the person authenticated (RFC 8176). */
  amr: readonly string[];
};

/**
 * Starts the grant of an authorization code: the first row of a new `oauth` family, one
 * statement. `familyId` is the grant's id (the `sid` of its access tokens); `refreshToken`
 * is the refresh token to hand the client, or undefined when `withRefresh` is false (the
 * row then holds the hash of a token nobody is given: the family still exists, so the
 * grant can be seen and revoked). Lives `REFRESH_TTL`. `also` joins the same batch.
 *
 * A second use of the code can land after the first used it but before this insert (two
 * requests racing): it finds no grant to revoke, but marks the code (`revokeCodeGrant`).
 * So the same batch revokes the new row again when the code is so marked, and the answer
 * is `{ reused: true }`: the caller refuses (`invalid_grant`) and hands out nothing. D1
 * runs batches one at a time, so one of the two always sees the other.
 */
export async function startGrant(ctx: Ctx, grant: GrantStart, withRefresh: boolean, also: readonly Statement[] = []) {
  const { config, db, now, source } = ctx;
  const refresh = await newRefresh(config, now);
  const id = crypto.randomUUID();
  const insert = insertSession(
    db,
    grant.userId,
    {
      id,
      ...refresh,
      userAgent: source.userAgent,
      ip: source.ip,
      amr: grant.amr.join(" "),
      kind: "oauth",
      clientId: grant.clientId,
      scope: grant.scope,
      resource: grant.resource,
      authTime: grant.authTime,
      codeId: grant.codeId,
    },
    now,
  );
  const results = await db.batch([insert, ...also, revokeIfCodeReusedQuery(db, grant.codeId, now)]);
  const revoked = results.at(-1) as unknown[];
  if (revoked.length > 0) {
    await codeReusedEvent(ctx, grant);
    ctx.log("warn", "oauth_code_reuse", { user_id: grant.userId, client_id: grant.clientId });
    return { reused: true as const };
  }
  return { reused: false as const, familyId: id, refreshToken: withRefresh ? refresh.refreshToken : undefined };
}

/** Longest refresh token worth hashing (ours are 43 characters). */
const MAX_REFRESH_TOKEN_LENGTH = 128;

/** The live `oauth` row of `refreshToken` (not revoked, not expired, its user enabled),
 * whether or not it was rotated already, or undefined. */
export async function findGrantToken(ctx: Ctx, refreshToken: string): Promise<RefreshRow | undefined> {
  if (refreshToken.length === 0 || refreshToken.length > MAX_REFRESH_TOKEN_LENGTH) return undefined;
  const row = await findByTokenHash(ctx.db, await hashRefreshToken(refreshToken));
  if (row?.kind !== "oauth" || row.revokedAt || row.expiresAt <= ctx.now || row.disabled) return undefined;
  return row;
}

/**
 * Rotates a grant's refresh token `row` (from `findGrantToken`) through the identity
 * core's one rotation (`rotateRow`): reuse detection, the reuse interval, the family
 * revoked and `refresh_token_reused` audited for a stale copy. Undefined when refused.
 */
export function rotateGrant(ctx: Ctx, row: RefreshRow, also: readonly Statement[] = []) {
  return rotateRow(ctx, row, also);
}

/**
 * RFC 6749 §4.1.2 / §10.5: an authorization code presented after it was used. Marks the
 * code (`attempts`), so a grant its first use is still starting is revoked as it starts
 * (`startGrant`, which then audits). When a grant was started from it (`started`), revokes
 * every token issued from it (the `oauth` families whose `code_id` is the code row's id)
 * and audits `oauth_code_reused` for the code's user. A code that was retired (an account
 * event) or spent on a refused request started nothing: only the mark.
 */
export async function revokeCodeGrant(
  ctx: Ctx,
  code: { id: string; userId: string; clientId: string },
  started: boolean,
) {
  const { db, now } = ctx;
  const mark = db
    .update(singleUseTokens)
    .set({ attempts: sql`${singleUseTokens.attempts} + 1` })
    .where(eq(singleUseTokens.id, code.id));
  if (!started) {
    await mark;
    return;
  }
  await db.batch([mark, revokeByCodeQuery(db, code.id, now), codeReusedEvent(ctx, code)]);
  ctx.log("warn", "oauth_code_reuse", { user_id: code.userId, client_id: code.clientId });
}

/** The `oauth_code_reused` audit event of `code`. Batchable. */
function codeReusedEvent(ctx: Ctx, code: { userId: string; clientId: string }) {
  const details = { client_id: code.clientId };
  return auditEvent(
    ctx.db,
    { type: "oauth_code_reused", userId: code.userId, actor: { type: "system" }, source: ctx.source, details },
    ctx.now,
  );
}

/** Revokes the grant begun with the code row `codeId` when that code was used again
 * (`revokeCodeGrant` counted it in `attempts`); returns the revoked ids. Batchable. */
function revokeIfCodeReusedQuery(db: Db, codeId: string, now: Date) {
  const reused = db
    .select({ id: singleUseTokens.id })
    .from(singleUseTokens)
    .where(and(eq(singleUseTokens.id, codeId), gt(singleUseTokens.attempts, 0)));
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.codeId, codeId), isNull(sessions.revokedAt), exists(reused)))
    .returning({ id: sessions.id });
}

/** Revokes every live row of the grants begun with the code row `codeId`. Batchable. */
export function revokeByCodeQuery(db: Db, codeId: string, now: Date) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.codeId, codeId), eq(sessions.kind, "oauth"), isNull(sessions.revokedAt)));
}

/** The user behind the live grant `familyId` of `userId` (its family not revoked or
 * expired, the user enabled), or undefined: what userinfo and introspection check. */
export function findLiveGrantUser(ctx: Ctx, familyId: string, userId: string) {
  return liveSessionUserQuery(ctx.db, familyId, userId, ctx.now).get();
}

/** Ends the grant `familyId` of `userId` for its client (RFC 7009 revocation), audited
 * `oauth_token_revoked` only when it was live. True when something was revoked. */
export async function revokeGrantFamily(ctx: Ctx, userId: string, familyId: string, clientId: string) {
  const { db, now, source } = ctx;
  const event = userEvent("oauth_token_revoked", userId, source, { session_id: familyId, client_id: clientId });
  const [revoked] = await db.batch(auditIfChanged(db, revokeFamilyQuery(db, userId, familyId, now), event, now));
  return revoked.length > 0;
}

/** Revokes every live token of `userId`'s grants to `clientId` (all its `oauth`
 * families). Batchable, so the caller can put its consent delete and audit event in the
 * same batch. */
export function revokeGrantQuery(db: Db, userId: string, clientId: string, now: Date) {
  return db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      and(
        eq(sessions.userId, userId),
        eq(sessions.kind, "oauth"),
        eq(sessions.clientId, clientId),
        isNull(sessions.revokedAt),
      ),
    )
    .returning({ id: sessions.id });
}
