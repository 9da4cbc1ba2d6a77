import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { deleteUser, updateNames } from "../src/features/account/queries";
import {
  clientById,
  consentsOf,
  deleteClient,
  deleteConsent,
  liveGrantsOf,
  revokeClientTokens,
  updateClient,
} from "../src/features/oauth/client-queries";
import { markClientUsed } from "../src/features/oauth/clients";
import { codeUser, findCode } from "../src/features/oauth/token-queries";
import { auditIfChanged } from "../src/identity/audit";
import { revokeByCodeQuery, revokeGrantQuery } from "../src/identity/oauth-grants";
import {
  deleteAllFactors,
  deleteOrphanRecoveryCodes,
  deleteTotp,
  factorsQuery,
  findFactors,
  findFactorsByEmail,
  findTotp,
  pendingLoginQueries,
  replaceRecoveryCodes,
  upsertPendingTotp,
  useRecoveryCode,
  useTotpStep,
} from "../src/identity/queries/factors";
import { clearFailures, findFailures, recordFailure } from "../src/identity/queries/failures";
import {
  deletePasskey,
  findPasskeyByCredential,
  findPasskeyOwner,
  listPasskeys,
  renamePasskey,
  usePasskey,
} from "../src/identity/queries/passkeys";
import {
  findByTokenHash,
  insertFirstToken,
  insertSession,
  listLive,
  liveSessionUserQuery,
  revokeAll,
  revokeFamilyBefore,
  revokeFamilyQuery,
  rotate,
} from "../src/identity/queries/sessions";
import {
  changeEmail,
  findEmail,
  findPasswordHash,
  findUser,
  findUserByEmail,
  findUserWithHash,
  markVerified,
  setPasswordHash,
} from "../src/identity/queries/users";
import { distrustFactorsOfUnprovenAddress } from "../src/identity/recovery";
import { retireFor } from "../src/identity/retirement";
import { sessions } from "../src/platform/schema";
import {
  consumeSingleUse,
  endIfSpent,
  findSingleUse,
  insertSingleUseUnlessRecent,
  retireOthers,
  takeAttempt,
} from "../src/platform/single-use";

// Every statement the public routes' query functions send (src/identity/queries/*, src/features/*/queries.ts; plain inserts of
// values left out, they read nothing) finds its rows through an index:
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

/** A query function: it returns a promise (run, its SQL logged), one built statement or a
 * list of them for a batch (their SQL read). */
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
  pendingLoginQueries: () => pendingLoginQueries(db, "h", 5, now),
  findPasskeyByCredential: () => findPasskeyByCredential(db, "c"),
  findPasskeyOwner: () => findPasskeyOwner(db, "c"),
  usePasskey: () => usePasskey(db, id, 1, 2, now),
  consumeSingleUse: () => consumeSingleUse(db, "h", "mfa_login", now),
  findSingleUse: () => findSingleUse(db, "h", "mfa_login", now),
  takeAttempt: () => takeAttempt(db, "h", "mfa_login", 5, now),
  endIfSpent: () => endIfSpent(db, "h", "mfa_login", 5, now),
  "retireFor (an account's rows)": () => retireFor(db, "password_reset", id, now),
  "retireFor (one session's rows)": () => retireFor(db, "session_revoked", id, now, { sid: id }),
  "retireFor (if disabled)": () =>
    retireFor(db, "account_disabled", id, now, { onlyIf: sql`(select disabled from users where id = ${id}) = 1` }),
  distrustFactorsOfUnprovenAddress: () => distrustFactorsOfUnprovenAddress(db, id, "a@example.com", source, now),
  findUserWithHash: () => findUserWithHash(db, "a@example.com"),
  findEmail: () => findEmail(db, id),
  setPasswordHash: () => setPasswordHash(db, id, "x", now),
  markVerified: () => markVerified(db, id, "a@example.com", now),
  changeEmail: () => changeEmail(db, id, "b@example.com", now),
  insertSession: () => insertSession(db, id, token, now),
  listLive: () => listLive(db, id, now),
  findUser: () => findUser(db, id),
  findUserByEmail: () => findUserByEmail(db, "a@example.com"),
  findPasswordHash: () => findPasswordHash(db, id),
  updateNames: () => updateNames(db, id, { firstName: "A" }, now),
  deleteUser: () => deleteUser(db, id),
  findFactors: () => findFactors(db, id),
  upsertPendingTotp: () => upsertPendingTotp(db, id, "c", now),
  deleteTotp: () => deleteTotp(db, id),
  replaceRecoveryCodes: () => replaceRecoveryCodes(db, id, ["h"], now),
  deleteOrphanRecoveryCodes: () => deleteOrphanRecoveryCodes(db, id),
  deleteAllFactors: () => deleteAllFactors(db, id),
  listPasskeys: () => listPasskeys(db, id),
  renamePasskey: () => renamePasskey(db, id, id, "n"),
  deletePasskey: () => deletePasskey(db, id, id),
  insertSingleUseUnlessRecent: () =>
    insertSingleUseUnlessRecent(
      db,
      { id, tokenHash: "h", purpose: "reset_password", userId: id, createdAt: now, expiresAt: now },
      now,
    ),
  retireOthers: () => retireOthers(db, id, "reset_password", id, now),
  "codeUser (POST /oauth/token)": () => codeUser(db, "h"),
  "findCode (a second use of a code)": () => findCode(db, "h"),
  revokeByCodeQuery: () => revokeByCodeQuery(db, id, now),
  revokeGrantQuery: () => revokeGrantQuery(db, id, "client", now),
  clientById: () => clientById(db, "c"),
  updateClient: () => updateClient(db, "c", { clientName: "n" }),
  revokeClientTokens: () => revokeClientTokens(db, "c", now),
  deleteClient: () => deleteClient(db, "c"),
  consentsOf: () => consentsOf(db, id),
  liveGrantsOf: () => liveGrantsOf(db, id, now),
  deleteConsent: () => deleteConsent(db, id, "c"),
  markClientUsed: () => markClientUsed(db, "c", now),
  auditEvent: () =>
    auditIfChanged(
      db,
      deleteTotp(db, id),
      { type: "login_succeeded", userId: id, actor: { type: "user", id }, source },
      now,
    )[1],
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
      // A built statement or a batch's list is read, not run (Drizzle logs no batch, and an
      // insert for a user that does not exist would fail its foreign key); a promise is run.
      const built = (Array.isArray(result) ? result : [result]) as Partial<Built>[];
      const readable = built.every((b) => typeof b?.toSQL === "function");
      if (!readable) await result;
      const statements = readable ? built.map((b) => (b as Built).toSQL()) : sent;
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) expect(await scans(statement), statement.sql).toEqual([]);
    });
  }
});
