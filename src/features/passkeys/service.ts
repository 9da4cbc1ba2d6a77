import { auditIfChanged, userEvent } from "../../identity/audit";
import { confirmPassword, countedCheck } from "../../identity/lockout";
import { deleteOrphanRecoveryCodes } from "../../identity/queries/factors";
import { deletePasskey } from "../../identity/queries/passkeys";
import type { User } from "../../identity/queries/users";
import { secondFactorCheck } from "../../identity/second-factors";
import type { RefreshTransport } from "../../identity/sessions";
import { MFA_PURPOSE, signIn } from "../../identity/sign-in";
import { authenticationOptions, verifyPasskeyLogin } from "../../identity/webauthn";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";
import { findSingleUse, singleUseHash } from "../../platform/single-use";

/** Deletes one of `user`'s passkeys after re-checking the password or another factor
 * (`code`: a TOTP or recovery code), counted. False when `id` is none of the user's. */
export async function deletePasskeyOf(ctx: Ctx, user: User, id: string, given: { password?: string; code?: string }) {
  const { db, source } = ctx;
  if (given.password !== undefined) {
    await confirmPassword(ctx, user, given.password, "delete_passkey");
  } else if (given.code !== undefined) {
    await countedCheck(ctx, user, secondFactorCheck(ctx, user, given.code, "delete_passkey", { orRecovery: true }));
  } else {
    throw new ApiError("invalid_input", "Send password (or code, a TOTP or recovery code) to delete a passkey");
  }
  // Written only if the delete matched one of the user's passkeys, so `id` is one.
  const event = userEvent("passkey_removed", user.id, source, { credential: id });
  const [deleted] = await db.batch([
    ...auditIfChanged(db, deletePasskey(db, user.id, id), event, new Date()),
    deleteOrphanRecoveryCodes(db, user.id),
  ]);
  return deleted.length > 0;
}

/** A passkey with user verification, alone: a complete sign-in (possession of the key
 * plus the verification the authenticator did, RFC 8176 "user": two factors, so "mfa"). */
export async function passkeyLogin(
  ctx: Ctx,
  body: { challenge_id: string; response: Record<string, unknown>; refresh_transport: RefreshTransport },
) {
  const verified = await verifyPasskeyLogin(ctx, body.challenge_id, body.response, new Date());
  const user = verified?.user;
  if (!verified || !user || user.disabled) throw new ApiError("invalid_credentials");
  return signIn(ctx, { user, amr: [verified.amr, "user", "mfa"], transport: body.refresh_transport });
}

/** The passkey challenge of a login's second step, for the `mfa_token` of POST /login. */
export async function mfaPasskeyOptions(ctx: Ctx, mfaToken: string) {
  const hash = await singleUseHash(mfaToken);
  const [pending] = hash ? await findSingleUse(ctx.db, hash, MFA_PURPOSE, new Date()) : [];
  if (!hash || !pending?.userId) throw new ApiError("invalid_credentials");
  const { options } = await authenticationOptions(ctx, pending.userId, hash);
  if (options.allowCredentials?.length === 0) throw new ApiError("invalid_credentials", "No passkey is registered");
  return options;
}
