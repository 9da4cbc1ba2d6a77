import { auditEvent, auditIfChanged, userEvent } from "../../identity/audit";
import { confirmPassword } from "../../identity/lockout";
import { hashPassword } from "../../identity/passwords";
import { revokeAll } from "../../identity/queries/sessions";
import { setPasswordHash, type User } from "../../identity/queries/users";
import { retireFor } from "../../identity/retirement";
import { renewSession } from "../../identity/rotation";
import type { RefreshTransport, Started, TokenPair } from "../../identity/sessions";
import type { AccessClaims } from "../../identity/tokens";
import type { Ctx } from "../../platform/context";
import { deleteUser } from "./queries";

export type PasswordChange = { currentPassword: string; newPassword: string; refresh_transport: RefreshTransport };

/**
 * Changes the password after re-checking the current one (counted): one batch stores the
 * new hash, revokes every other session, rotates this one to a new pair (every earlier
 * refresh token of it revoked, none reusable) and kills every flow in flight
 * (RETIRED_BY.password_changed). The pair keeps the session's `amr`.
 */
export async function changePassword(
  ctx: Ctx,
  user: User,
  claims: AccessClaims,
  { currentPassword, newPassword, refresh_transport }: PasswordChange,
): Promise<Started<TokenPair>> {
  const { config, db, source } = ctx;
  const sid = claims.sid ?? "";
  await confirmPassword(ctx, user, currentPassword, "change_password");
  const passwordHash = await hashPassword(newPassword, config.bcryptCost);
  const now = new Date();
  // One batch: the new hash, every other session revoked, this one renewed, and every
  // flow in flight dead (a reset link still in a mailbox among them).
  return renewSession(
    ctx,
    { user, sid, amr: claims.amr, transport: refresh_transport },
    {
      before: [setPasswordHash(db, user.id, passwordHash, now), revokeAll(db, user.id, now, sid)],
      after: [
        ...retireFor(db, "password_changed", user.id, now),
        auditEvent(db, userEvent("password_changed", user.id, source), now),
      ],
    },
  );
}

/** Deletes the account after re-checking its password (counted); its sessions and
 * single-use rows cascade with it. */
export async function deleteAccount(ctx: Ctx, user: User, password: string): Promise<void> {
  const { db, source } = ctx;
  await confirmPassword(ctx, user, password, "delete_account");
  await db.batch(
    auditIfChanged(db, deleteUser(db, user.id), userEvent("account_deleted", user.id, source), new Date()),
  );
}
