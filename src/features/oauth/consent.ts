import { and, eq } from "drizzle-orm";
import { auditEvent, userEvent } from "../../identity/audit";
import type { Ctx } from "../../platform/context";
import type { Statement } from "../../platform/db";
import { oauthConsents } from "../../platform/schema-oauth";
import { consumeSingleUse } from "../../platform/single-use";
import type { AuthorizationRequest } from "./authorize-request";
import { clientRedirect } from "./authorize-request";
import type { BrowserSession } from "./browser-session";
import { markClientUsed } from "./clients";
import { type AuthorizationCodeData, mintAuthorizationCode } from "./codes";

// Consent (the consent page's decision) and the end of an authorization: the code issued,
// or access_denied. Consent is remembered per user and client as the set of scopes and
// resources granted (oauth_consents): a later request within that set skips the page unless
// it says `prompt=consent`; first-party clients (registered by an admin as the deployment's
// own app) don't see it unless they ask for it.

/** What `userId` has granted `clientId` so far (scopes and resource indicators), or
 * undefined when nothing was. */
async function granted(ctx: Ctx, userId: string, clientId: string) {
  const [row] = await ctx.db
    .select({ scope: oauthConsents.scope, resources: oauthConsents.resources })
    .from(oauthConsents)
    .where(and(eq(oauthConsents.userId, userId), eq(oauthConsents.clientId, clientId)))
    .limit(1);
  const words = (text: string) => text.split(" ").filter((word) => word !== "");
  return row ? { scopes: words(row.scope), resources: words(row.resources) } : undefined;
}

/** True when the consent page must be shown: `prompt=consent` (OpenID Connect Core
 * §3.1.2.1: the client asked for it, first-party or not), or a client that is not
 * first-party (registered by an admin as such) asking for a scope not granted yet (or
 * never granted anything). */
export async function consentNeeded(ctx: Ctx, request: AuthorizationRequest, userId: string): Promise<boolean> {
  const { client } = request;
  if (request.prompt.consent) return true;
  if (client.firstParty && client.registration === "admin") return false;
  const before = await granted(ctx, userId, request.client.clientId);
  if (before === undefined || request.scope.some((scope) => !before.scopes.includes(scope))) return true;
  // Consent names the resource: allowing one MCP server is not allowing another.
  return request.resource !== undefined && !before.resources.includes(request.resource);
}

/** What a finished step hands back: where to send the browser. */
export type Outcome = { location: string };

/**
 * Issues the authorization code for `request` to the signed-in `session` and returns the
 * redirect carrying it (`code`, `state` when sent, `iss`: RFC 6749 §4.1.2, RFC 9207). In
 * the same batch: with `consented`, the consent row written or widened (the union of what
 * was granted and what this request asks) and `oauth_consent_given` audited; the client's
 * `last_used_at`; `also` (the request row consumed). Never a token in the URL.
 */
export async function issueCode(
  ctx: Ctx,
  request: AuthorizationRequest,
  session: BrowserSession,
  { consented = false, also = [] }: { consented?: boolean; also?: readonly Statement[] } = {},
): Promise<Outcome> {
  const { db, now, source, config } = ctx;
  const { client } = request;
  const scope = request.scope.join(" ");
  const data: AuthorizationCodeData = {
    client_id: client.clientId,
    redirect_uri: request.redirectUri,
    code_challenge: request.codeChallenge,
    scope,
    ...(request.resource !== undefined && { resource: request.resource }),
    ...(request.nonce !== undefined && { nonce: request.nonce }),
    auth_time: Math.floor(session.authTime.getTime() / 1000),
    amr: session.amr,
  };
  const code = await mintAuthorizationCode(ctx, session.userId, data);
  const statements: Statement[] = [code.insert, markClientUsed(db, client.clientId, now), ...also];
  if (consented) {
    const before = await granted(ctx, session.userId, client.clientId);
    const union = [...new Set([...(before?.scopes ?? []), ...request.scope])].sort().join(" ");
    const resources = [...new Set([...(before?.resources ?? []), ...(request.resource ? [request.resource] : [])])]
      .sort()
      .join(" ");
    const values = { scope: union, resources, lastUsedAt: now };
    statements.push(
      db
        .insert(oauthConsents)
        .values({ userId: session.userId, clientId: client.clientId, ...values, createdAt: now })
        .onConflictDoUpdate({ target: [oauthConsents.userId, oauthConsents.clientId], set: values }),
      auditEvent(
        db,
        userEvent("oauth_consent_given", session.userId, source, { client_id: client.clientId, scope }),
        now,
      ),
    );
  } else {
    statements.push(
      db
        .update(oauthConsents)
        .set({ lastUsedAt: now })
        .where(and(eq(oauthConsents.userId, session.userId), eq(oauthConsents.clientId, client.clientId))),
    );
  }
  await db.batch(statements as [Statement, ...Statement[]]);
  return {
    location: clientRedirect(config.oauth.issuer, request.redirectUri, request.state, { code: code.value }),
  };
}

/** The person said no on the consent page: `oauth_consent_refused` audited (with `also`,
 * the request row consumed), and the redirect with `error=access_denied` (RFC 6749 §4.1.2.1). */
export async function refuseConsent(
  ctx: Ctx,
  request: AuthorizationRequest,
  userId: string,
  also: readonly Statement[] = [],
): Promise<Outcome> {
  const { db, now, source, config } = ctx;
  const details = { client_id: request.client.clientId, scope: request.scope.join(" ") };
  await db.batch([auditEvent(db, userEvent("oauth_consent_refused", userId, source, details), now), ...also]);
  const error = { error: "access_denied", error_description: "The person declined to grant access" };
  return { location: clientRedirect(config.oauth.issuer, request.redirectUri, request.state, error) };
}

/** Consumes the request row `tokenHash` (batch it with the step that finishes the flow). */
export function finishRequest(ctx: Ctx, tokenHash: string) {
  return consumeSingleUse(ctx.db, tokenHash, "oauth_request", ctx.now);
}
