import { and, eq, gt, gte, isNull, lt, ne, sql } from "drizzle-orm";
import { randomToken, sha256Hex } from "./crypto";
import { type Db, insertRow } from "./db";
import { type SingleUsePurpose, singleUseTokens, users } from "./schema";

// The one module for flows that span requests (mailed links, `mfa_token`s, WebAuthn
// challenges): a random value goes to the user, only its SHA-256 is stored with a purpose,
// an expiry and `used_at`, and one conditional UPDATE ... RETURNING consumes it.

export type SingleUseRow = typeof singleUseTokens.$inferSelect;

/** Where a row is still usable at `now`: unused and unexpired. */
const live = (tokenHash: string, purpose: SingleUsePurpose, now: Date) =>
  and(
    eq(singleUseTokens.tokenHash, tokenHash),
    eq(singleUseTokens.purpose, purpose),
    isNull(singleUseTokens.usedAt),
    gt(singleUseTokens.expiresAt, now),
  );

/** Records a single-use token (its hash only). Batchable. */
export function insertSingleUse(db: Db, row: typeof singleUseTokens.$inferInsert) {
  return db.insert(singleUseTokens).values(row);
}

/** Records a token only if its user exists and no token of the same purpose was made
 * since `since` for the same user or the same `target`: a per-recipient cooldown that
 * concurrent requests cannot both pass (one statement decides). Returns `[{ id }]` when
 * the row went in, `[]` otherwise. Batchable (after an insert of the user, say). */
export function insertSingleUseUnlessRecent(
  db: Db,
  row: typeof singleUseTokens.$inferInsert & { userId: string },
  since: Date,
) {
  const target = row.target ?? null;
  const values = { ...row, target, data: row.data ?? null, attempts: 0, usedAt: null };
  return insertRow(
    db,
    singleUseTokens,
    values,
    sql`where exists (select 1 from ${users} where ${users.id} = ${row.userId})
        and not exists (select 1 from ${singleUseTokens} as recent where recent.purpose = ${row.purpose}
          and (recent.user_id = ${row.userId} or recent.target = ${target})
          and recent.created_at > ${since.getTime()})`,
  ).returning({ id: singleUseTokens.id });
}

/** Retires the other unused tokens of `userId` for `purpose`, only if token `keepId` was
 * recorded: batch it after `insertSingleUseUnlessRecent`, so a request refused by the
 * cooldown leaves the earlier link working. */
export function retireOthers(db: Db, userId: string, purpose: SingleUsePurpose, keepId: string, now: Date) {
  return db
    .update(singleUseTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(singleUseTokens.userId, userId),
        eq(singleUseTokens.purpose, purpose),
        isNull(singleUseTokens.usedAt),
        ne(singleUseTokens.id, keepId),
        sql`exists (select 1 from ${singleUseTokens} as kept where kept.id = ${keepId})`,
      ),
    );
}

/** Uses the token once: the row it was, or an empty array when it is unknown, of another
 * purpose, expired or already used. One conditional UPDATE, so of two concurrent
 * requests with the same token exactly one gets the row. Batchable. */
export function consumeSingleUse(db: Db, tokenHash: string, purpose: SingleUsePurpose, now: Date) {
  return db
    .update(singleUseTokens)
    .set({ usedAt: now })
    .where(live(tokenHash, purpose, now))
    .returning();
}

/** The live row of a token without using it (to check an answer before consuming). */
export function findSingleUse(db: Db, tokenHash: string, purpose: SingleUsePurpose, now: Date) {
  return db
    .select()
    .from(singleUseTokens)
    .where(live(tokenHash, purpose, now));
}

/** Takes one of a live token's `maxAttempts` tries *before* its answer is checked, so a
 * burst of concurrent guesses gets no more tries than that: each UPDATE takes one, and
 * once they are all taken the token is not live for this (OWASP ASVS 2.2.1, limits that
 * hold under concurrency). Returns the row as it now is, or an empty array when the
 * token is not live or has no try left. After a wrong answer batch `endIfSpent`.
 * Batchable. */
export function takeAttempt(db: Db, tokenHash: string, purpose: SingleUsePurpose, maxAttempts: number, now: Date) {
  return db
    .update(singleUseTokens)
    .set({ attempts: sql`${singleUseTokens.attempts} + 1` })
    .where(and(live(tokenHash, purpose, now), lt(singleUseTokens.attempts, maxAttempts)))
    .returning();
}

/** After a wrong answer: uses the token up once all `maxAttempts` tries are taken, so the
 * right answer no longer works either. Batchable. */
export function endIfSpent(db: Db, tokenHash: string, purpose: SingleUsePurpose, maxAttempts: number, now: Date) {
  return db
    .update(singleUseTokens)
    .set({ usedAt: now })
    .where(and(live(tokenHash, purpose, now), gte(singleUseTokens.attempts, maxAttempts)));
}

/** Longest token value worth hashing: ours are 43 characters (256 bits, base64url). */
export const MAX_SINGLE_USE_LENGTH = 128;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A new single-use token: `value` goes to the user (in a link, or as an opaque
 * `mfa_token`/`challenge_id`), `insert` records only its SHA-256 (batch it). */
export async function mintSingleUse(
  db: Db,
  purpose: SingleUsePurpose,
  options: { userId: string | null; ttlSeconds: number; target?: string; data?: unknown },
  now: Date,
) {
  const value = randomToken();
  const insert = insertSingleUse(db, {
    id: crypto.randomUUID(),
    tokenHash: await sha256Hex(value),
    purpose,
    userId: options.userId,
    target: options.target ?? null,
    data: options.data === undefined ? null : JSON.stringify(options.data),
    createdAt: now,
    expiresAt: new Date(now.getTime() + options.ttlSeconds * 1000),
  });
  return { value, insert };
}

/** The hash to look a presented token up by, or undefined for a value that cannot be
 * one of ours (not base64url, or longer than MAX_SINGLE_USE_LENGTH): refused before hashing. */
export async function singleUseHash(value: unknown): Promise<string | undefined> {
  if (typeof value !== "string" || value.length > MAX_SINGLE_USE_LENGTH || !BASE64URL.test(value)) return undefined;
  return sha256Hex(value);
}

/** A single-use token for a mail: like `mintSingleUse`, but `insert` records it only if
 * the user exists and no token of this purpose went to the same user or `target` in the
 * last `cooldownSeconds` (it then returns `[{ id }]`, else `[]`). Batch `retireOthers(db,
 * userId, purpose, id, now)` after it so a new link kills the older ones. */
export async function mintMailToken(
  db: Db,
  purpose: SingleUsePurpose,
  options: {
    userId: string;
    ttlSeconds: number;
    target: string;
    cooldownSeconds: number;
    data?: unknown;
    /** The row's id, when `data` must name it before the insert (a code's HMAC is bound to it). */
    id?: string;
  },
  now: Date,
) {
  const value = randomToken();
  const id = options.id ?? crypto.randomUUID();
  const insert = insertSingleUseUnlessRecent(
    db,
    {
      id,
      tokenHash: await sha256Hex(value),
      purpose,
      userId: options.userId,
      target: options.target,
      data: options.data === undefined ? null : JSON.stringify(options.data),
      createdAt: now,
      expiresAt: new Date(now.getTime() + options.ttlSeconds * 1000),
    },
    new Date(now.getTime() - options.cooldownSeconds * 1000),
  );
  return { value, id, insert };
}
