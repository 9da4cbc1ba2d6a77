import { and, eq, isNull } from "drizzle-orm";
import type { Ctx } from "../platform/context";
import { sessions } from "../platform/schema";

// OAuth grants: the refresh-token families of kind `oauth` that POST /oauth/token issues
// to a client for a person. (Minimal version from the oauth-clients branch: the token
// branch owns this file and its grant start and rotation.)

/** Ends every token of `userId`'s grant to `clientId`: each of their `oauth` session rows
 * for that client still live is revoked now, so no refresh token of it works again (RFC
 * 7009 §2.1: revoking a grant ends its tokens). Access tokens already issued run out by
 * their `exp` (OAUTH_ACCESS_TTL). Through sessions_user_id_idx. */
export async function revokeGrant(ctx: Pick<Ctx, "db" | "now">, userId: string, clientId: string): Promise<void> {
  await ctx.db
    .update(sessions)
    .set({ revokedAt: ctx.now })
    .where(
      and(
        eq(sessions.userId, userId),
        eq(sessions.kind, "oauth"),
        eq(sessions.clientId, clientId),
        isNull(sessions.revokedAt),
      ),
    );
}
