import { and, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { FORGET_AFTER_MS } from "../../identity/queries/failures";
import type { Db } from "../../platform/db";
import { auditEvents, loginFailures, sessions, singleUseTokens } from "../../platform/schema";
import { oauthClients, oauthConsents } from "../../platform/schema-oauth";

/** A dynamically registered OAuth client (RFC 7591) or a cached client metadata document
 * unused this long is deleted: the
 * time since its last authorization or token request (`last_used_at`), or since it was
 * registered when it was never used (`created_at`). */
export const UNUSED_CLIENT_MS = 30 * 24 * 3600 * 1000;

/** Rows each table may lose per statement: a run stays well inside D1's per-invocation
 * limits however far behind it is; the next run takes the rest. */
export const HOUSEKEEPING_BATCH = 500;

/** What housekeeping deletes, as of `now`. */
export type Cutoffs = { now: Date; refreshTtlMs: number; auditRetentionMs: number };

/**
 * The delete statements of one round, one per table, each of at most `limit` rows.
 * Sessions go by whole families whose every row has been expired or revoked for longer
 * than REFRESH_TTL, so a replaced refresh token of a live family is never forgotten
 * (presenting it again must still revoke the family). Login-failure rows go once their
 * run of failures is forgotten anyway (src/identity/queries/failures.ts) and no lock holds. Single-use
 * tokens go once expired or used: neither can be used again. Audit events go after
 * AUDIT_RETENTION. Dynamically registered OAuth clients and cached metadata documents go after UNUSED_CLIENT_MS without
 * use, their consents first (in the same batch; a token of theirs left is refused, its
 * client being unknown).
 */
export function housekeepingDeletes(
  db: Db,
  { now, refreshTtlMs, auditRetentionMs }: Cutoffs,
  limit = HOUSEKEEPING_BATCH,
): Record<string, BatchItem<"sqlite">> {
  const sessionCutoff = now.getTime() - refreshTtlMs;
  // When a row stopped being usable: revoked or expired, whichever came first.
  const deadSince = sql`max(case when ${sessions.revokedAt} is not null and ${sessions.revokedAt} < ${sessions.expiresAt}
    then ${sessions.revokedAt} else ${sessions.expiresAt} end)`;
  const deadFamilies = db
    .select({ familyId: sessions.familyId })
    .from(sessions)
    .groupBy(sessions.familyId)
    .having(sql`${deadSince} < ${sessionCutoff}`)
    .limit(limit);
  const staleFailures = db
    .select({ email: loginFailures.email })
    .from(loginFailures)
    .where(
      and(
        lt(loginFailures.lastFailureAt, new Date(now.getTime() - FORGET_AFTER_MS)),
        or(isNull(loginFailures.lockedUntil), lt(loginFailures.lockedUntil, now)),
      ),
    )
    .limit(limit);
  const deadTokens = db
    .select({ id: singleUseTokens.id })
    .from(singleUseTokens)
    .where(or(lt(singleUseTokens.expiresAt, now), isNotNull(singleUseTokens.usedAt)))
    .limit(limit);
  const oldEvents = db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(lt(auditEvents.time, new Date(now.getTime() - auditRetentionMs)))
    .limit(limit);
  const unusedClients = db
    .select({ clientId: oauthClients.clientId })
    .from(oauthClients)
    .where(
      and(
        // A metadata document's cached copy too: otherwise every URL ever named as a
        // client_id stays a row for good (the cache has no other bound). Named again, it is
        // fetched again.
        inArray(oauthClients.registration, ["dynamic", "metadata_document"]),
        lt(sql`coalesce(${oauthClients.lastUsedAt}, ${oauthClients.createdAt})`, now.getTime() - UNUSED_CLIENT_MS),
      ),
    )
    .limit(limit);
  return {
    audit_events: db.delete(auditEvents).where(inArray(auditEvents.id, oldEvents)),
    sessions: db.delete(sessions).where(inArray(sessions.familyId, deadFamilies)),
    login_failures: db.delete(loginFailures).where(inArray(loginFailures.email, staleFailures)),
    single_use_tokens: db.delete(singleUseTokens).where(inArray(singleUseTokens.id, deadTokens)),
    oauth_consents: db.delete(oauthConsents).where(inArray(oauthConsents.clientId, unusedClients)),
    oauth_clients: db.delete(oauthClients).where(inArray(oauthClients.clientId, unusedClients)),
  };
}
