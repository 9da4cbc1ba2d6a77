import { auditIfChanged, userEvent } from "../../identity/audit";
import { deleteIdentity, findOwnIdentity } from "../../identity/queries/identities";
import type { User } from "../../identity/queries/users";
import type { SocialProvider } from "../../platform/config";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";
import { consumeSingleUse, mintSingleUse, singleUseHash } from "../../platform/single-use";
import { STATE_TTL_SECONDS } from "./service";

// Linking from the account's settings: a signed-in app asks for a link (POST
// /me/identities/:provider) and gets a URL of this API to send the browser to; that
// request sets the trip's cookie in the browser (an app's fetch could not) and goes on to
// the provider; the callback links the identity to the account that asked.

/**
 * A one-time link start for `user` (single-use `social_link` row, 10 minutes): the URL
 * `GET /login/social/:id?redirect_to=…&link=…` that starts the linking trip.
 */
export async function startLink(ctx: Ctx, user: User, provider: SocialProvider, redirectTo: URL) {
  const options = { userId: user.id, ttlSeconds: STATE_TTL_SECONDS, data: { provider: provider.id } };
  const { value, insert } = await mintSingleUse(ctx.db, "social_link", options, ctx.now);
  await insert;
  const url = new URL(`${ctx.config.mail.publicUrl}/login/social/${provider.id}`);
  url.searchParams.set("redirect_to", redirectTo.href);
  url.searchParams.set("link", value);
  return url.href;
}

/** The account a link start was made for (it is used up), or 400 `invalid_code` when it
 * is unknown, expired, used, retired or for another provider. */
export async function takeLink(ctx: Ctx, token: string, provider: SocialProvider): Promise<string> {
  const hash = await singleUseHash(token);
  const [row] = hash ? await consumeSingleUse(ctx.db, hash, "social_link", ctx.now) : [];
  const data = row?.data ? (JSON.parse(row.data) as { provider?: string }) : undefined;
  if (!row?.userId || data?.provider !== provider.id) throw new ApiError("invalid_code");
  return row.userId;
}

/** Unlinks the user's identity `id`: 404 `not_found` when it is not theirs, 409
 * `last_sign_in_method` when the account would keep no way to sign in. */
export async function unlink(ctx: Ctx, user: User, id: string): Promise<void> {
  const { db, now, source } = ctx;
  const event = userEvent("identity_unlinked", user.id, source, { identity: id });
  const [removed] = await db.batch([...auditIfChanged(db, deleteIdentity(db, user.id, id), event, now)]);
  if (removed.length > 0) return;
  const [own] = await findOwnIdentity(db, user.id, id);
  throw new ApiError(own ? "last_sign_in_method" : "not_found");
}
