import { Hono } from "hono";
import { auditEvent, userEvent } from "../../identity/audit";
import { requireSession } from "../../identity/guards";
import { revokeGrantQuery } from "../../identity/oauth-grants";
import type { User } from "../../identity/queries/users";
import { type Ctx, ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { describe } from "../../platform/openapi/describe";
import { consentsOf, deleteConsent, liveGrantsOf } from "./client-queries";
import { grantClientParam, grantList } from "./client-schemas";
import { parseScope } from "./scopes";

// GET/DELETE /me/oauth/grants: what a person allowed which client, and ending it.

type Grant = {
  client_id: string;
  client_name: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
};

const iso = (value: Date | number | null) => (value === null ? null : new Date(value).toISOString());

/**
 * The person's grants, one per client: each consent they gave (the consent page's "allow":
 * its scopes, when it was given, when last used), and each client holding live tokens of
 * theirs without a consent row (a first-party client that skipped the page): then the
 * scopes of its tokens, when the first was issued and when one was last used. By client name.
 */
export async function grantsOf(ctx: Ctx, user: User): Promise<Grant[]> {
  const [consents, live] = await ctx.db.batch([consentsOf(ctx.db, user.id), liveGrantsOf(ctx.db, user.id, ctx.now)]);
  const grants = new Map<string, Grant>();
  for (const row of consents) {
    grants.set(row.clientId, {
      client_id: row.clientId,
      client_name: row.clientName,
      scopes: parseScope(row.scope),
      created_at: row.createdAt.toISOString(),
      last_used_at: iso(row.lastUsedAt),
    });
  }
  for (const row of live) {
    if (row.clientId === null || grants.has(row.clientId)) continue;
    grants.set(row.clientId, {
      client_id: row.clientId,
      client_name: row.clientName,
      scopes: parseScope(row.scope),
      created_at: iso(row.createdAt) ?? "",
      last_used_at: iso(row.lastUsedAt),
    });
  }
  return [...grants.values()].sort(
    (a, b) => a.client_name.localeCompare(b.client_name) || a.client_id.localeCompare(b.client_id),
  );
}

/** Ends the person's grant to `clientId`: every token of it (`revokeGrantQuery`) and the
 * consent, audited `oauth_grant_revoked`. 404 when they have neither a consent nor a live
 * token for that client. */
export async function endGrant(ctx: Ctx, user: User, clientId: string): Promise<void> {
  const grants = await grantsOf(ctx, user);
  if (!grants.some((grant) => grant.client_id === clientId)) throw new ApiError("not_found", "No grant to that client");
  // One batch: the tokens, the consent and the event end together or not at all.
  await ctx.db.batch([
    revokeGrantQuery(ctx.db, user.id, clientId, ctx.now),
    deleteConsent(ctx.db, user.id, clientId),
    auditEvent(ctx.db, userEvent("oauth_grant_revoked", user.id, ctx.source, { client_id: clientId }), ctx.now),
  ]);
}

/** Served whatever OAUTH_PROVIDER says: a person can always see and end what they allowed. */
export const grantsRoutes = new Hono<AppEnv>()
  .get(
    "/me/oauth/grants",
    describe({
      operationId: "listOAuthGrants",
      tag: "OAuth",
      summary: "The apps you allowed",
      description:
        "One entry per client: your consent (scopes, when given, last used), or, for a first-party client that did not ask, its live tokens.",
      access: "session",
      ok: { status: 200, description: "Your grants, by client name", json: grantList },
    }),
    requireSession,
    async (c) => c.json({ grants: await grantsOf(ctxOf(c), c.var.user) }),
  )
  .delete(
    "/me/oauth/grants/:client_id",
    describe({
      operationId: "revokeOAuthGrant",
      tag: "OAuth",
      summary: "Take back what you allowed a client",
      description:
        "Ends every refresh token of the grant at once and removes the consent (the client must ask again); access tokens already issued run out by themselves (OAUTH_ACCESS_TTL). Audited as `oauth_grant_revoked`. 404 when you gave that client nothing.",
      access: "session",
      params: grantClientParam,
      ok: { status: 204, description: "Ended" },
      errors: ["not_found"],
    }),
    requireSession,
    async (c) => {
      await endGrant(ctxOf(c), c.var.user, c.req.param("client_id"));
      return c.body(null, 204);
    },
  );
