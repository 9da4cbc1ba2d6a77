import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import { auditIfChanged, type NewAuditEvent } from "../../identity/audit";
import { publicColumns, type User } from "../../identity/queries/users";
import { retireFor } from "../../identity/retirement";
import type { Db } from "../../platform/db";
import { type Role, sessions, users } from "../../platform/schema";

/** One page of users in email order, after `afterEmail`, optionally only those whose
 * email starts with `prefix` (compared exactly, never as a LIKE pattern). */
export function listUsers(db: Db, page: { limit: number; afterEmail?: string; prefix?: string }) {
  const { limit, afterEmail, prefix } = page;
  return db
    .select(publicColumns)
    .from(users)
    .where(
      and(
        afterEmail === undefined ? undefined : gt(users.email, afterEmail),
        prefix === undefined ? undefined : sql`substr(${users.email}, 1, ${prefix.length}) = ${prefix}`,
      ),
    )
    .orderBy(asc(users.email))
    .limit(limit);
}

/** True unless the change would leave no enabled admin: the target is not an enabled
 * admin, or another enabled admin exists. Checked inside the write, so two admins
 * demoting each other at once cannot both succeed. */
function keepsAnAdmin(id: string): SQL {
  return sql`(not (${users.role} = 'admin' and ${users.disabled} = 0) or exists (
    select 1 from ${users} as other where other.role = 'admin' and other.disabled = 0 and other.id <> ${id}))`;
}

/** Changes role and/or disabled. Removing admin rights is guarded by `keepsAnAdmin`;
 * disabling revokes every session and retires every single-use row in the same batch.
 * `events` are audited only if the update went through (`auditIfChanged`). Returns the
 * user, or undefined when it does not exist or the guard refused. */
export async function updateAccess(
  db: Db,
  id: string,
  change: { role?: Role; disabled?: boolean },
  now: Date,
  events: readonly NewAuditEvent[],
): Promise<User | undefined> {
  const losesAdmin = change.role === "user" || change.disabled === true;
  const update = db
    .update(users)
    .set({ ...change, updatedAt: now })
    .where(and(eq(users.id, id), losesAdmin ? keepsAnAdmin(id) : undefined))
    .returning(publicColumns);
  const disabledNow = sql`(select ${users.disabled} from ${users} where ${users.id} = ${id}) = 1`;
  const revoke = db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, id), sql`${sessions.revokedAt} is null`, disabledNow));
  // Disabling also retires every link and flow in flight (RETIRED_BY.account_disabled).
  const retire = change.disabled ? retireFor(db, "account_disabled", id, now, { onlyIf: disabledNow }) : [];
  const [first, ...more] = events;
  const [, audit] = first ? auditIfChanged(db, update, [first, ...more], now) : [update];
  const [[user]] = await db.batch([update, ...(audit ? [audit] : []), revoke, ...retire]);
  return user;
}

/** Deletes a user unless it is the last enabled admin, auditing `event` only if a row
 * went; returns whether one did. */
export async function deleteUserGuarded(db: Db, id: string, event: NewAuditEvent, now: Date): Promise<boolean> {
  const remove = db
    .delete(users)
    .where(and(eq(users.id, id), keepsAnAdmin(id)))
    .returning({ id: users.id });
  const [rows] = await db.batch(auditIfChanged(db, remove, event, now));
  return rows.length > 0;
}
