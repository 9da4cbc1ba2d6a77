import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { auditEvent } from "../src/db/audit";
import { clearFailures, findFailures, recordFailure } from "../src/db/lockout";
import {
  factorsQuery,
  findFactorsByEmail,
  findTotp,
  pendingLoginQueries,
  useRecoveryCode,
  useTotpStep,
} from "../src/db/mfa";
import { findPasskeyByCredential, findPasskeyOwner, usePasskey } from "../src/db/passkeys";
import { sessions } from "../src/db/schema";
import {
  findByTokenHash,
  insertFirstToken,
  liveSessionUserQuery,
  revokeAll,
  revokeFamilyBefore,
  revokeFamilyQuery,
  rotate,
} from "../src/db/sessions";
import { consumeSingleUse, findSingleUse, retireSingleUse, spendAttempt } from "../src/db/single-use";
import { changeEmail, findEmail, findUserWithHash, markVerified, setPasswordHash } from "../src/db/users";

// Every statement a request of the public routes sends finds its rows through an index:
// a table scan costs nothing on an empty test database and grows with every user and
// every session ever issued (on D1, rows read are also billed). Checked with SQLite's
// EXPLAIN QUERY PLAN on the real migrations. Admin listings and the daily housekeeping
// are left out: they page or sweep by design.

/** Each statement Drizzle sends, as sent. */
const sent: { sql: string; params: unknown[] }[] = [];
const db = drizzle(env.DB, { logger: { logQuery: (sql, params) => sent.push({ sql, params }) } });
const now = new Date();
const id = "00000000-0000-4000-8000-000000000000";
const token = { id, refreshTokenHash: "h", expiresAt: now, userAgent: null, ip: null };
const policy = { after: 5, baseSeconds: 60, maxSeconds: 3600 };
const source = { ip: null, userAgent: null, requestId: null };

/** A query function: it returns a promise or one statement (run, and its SQL logged), or a
 * list of statements for a batch (not run: Drizzle logs no batch; their SQL is read). */
type Run = () => unknown;
type Built = { toSQL: () => { sql: string; params: unknown[] } };
const queries: Record<string, Run> = {
  "rotate (refresh, with the reuse interval)": () => rotate(db, eq(sessions.id, id), token, now, { id, since: now }),
  "rotate (password change)": () => rotate(db, eq(sessions.familyId, id), token, now),
  findByTokenHash: () => findByTokenHash(db, "h"),
  liveSessionUserQuery: () => liveSessionUserQuery(db, id, id, now),
  revokeFamilyQuery: () => revokeFamilyQuery(db, id, id, now),
  revokeFamilyBefore: () => revokeFamilyBefore(db, id, id, now),
  revokeAll: () => revokeAll(db, id, now, id),
  insertFirstToken: () => insertFirstToken(db, id, token, now),
  findFailures: () => findFailures(db, "a@example.com"),
  recordFailure: () => recordFailure(db, "a@example.com", undefined, policy, now),
  clearFailures: () => clearFailures(db, "a@example.com", id),
  factorsQuery: () => factorsQuery(db, id),
  findFactorsByEmail: () => findFactorsByEmail(db, "a@example.com"),
  findTotp: () => findTotp(db, id),
  useTotpStep: () => useTotpStep(db, id, 1, now),
  useRecoveryCode: () => useRecoveryCode(db, id, "h", now),
  pendingLoginQueries: () => pendingLoginQueries(db, "h", now),
  findPasskeyByCredential: () => findPasskeyByCredential(db, "c"),
  findPasskeyOwner: () => findPasskeyOwner(db, "c"),
  usePasskey: () => usePasskey(db, id, 1, 2, now),
  consumeSingleUse: () => consumeSingleUse(db, "h", "mfa_login", now),
  findSingleUse: () => findSingleUse(db, "h", "mfa_login", now),
  spendAttempt: () => spendAttempt(db, "h", "mfa_login", 5, now),
  retireSingleUse: () => retireSingleUse(db, id, "reset_password", now),
  findUserWithHash: () => findUserWithHash(db, "a@example.com"),
  findEmail: () => findEmail(db, id),
  setPasswordHash: () => setPasswordHash(db, id, "x", now),
  markVerified: () => markVerified(db, id, "a@example.com", now),
  changeEmail: () => changeEmail(db, id, "b@example.com", now),
  auditEvent: () =>
    auditEvent(db, { type: "login_succeeded", userId: id, actor: { type: "user", id }, source }, now, {
      onlyIfChanged: true,
    }),
};

/** The plan lines of one statement that read a whole table (or a whole index). */
async function scans({ sql, params }: { sql: string; params: unknown[] }): Promise<string[]> {
  const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return plan.results.map((row) => row.detail).filter((detail) => /^SCAN (?!CONSTANT ROW)/.test(detail));
}

describe("query plans", () => {
  for (const [name, run] of Object.entries(queries)) {
    it(`${name}: every table is searched through an index, never scanned`, async () => {
      sent.length = 0;
      const result = run();
      if (!Array.isArray(result)) await result;
      const statements = Array.isArray(result) ? (result as Built[]).map((built) => built.toSQL()) : sent;
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) expect(await scans(statement), statement.sql).toEqual([]);
    });
  }
});
