import { type Context, Hono } from "hono";
import { findGrantToken, findLiveGrantUser, revokeGrantFamily } from "../../identity/oauth-grants";
import { type Ctx, ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { rateLimit } from "../../platform/http/rate-limit";
import { describe } from "../../platform/openapi/describe";
import { verifyProviderToken } from "./access-tokens";
import { authenticateClient } from "./client-auth";
import { findClient, type OAuthClient } from "./clients";
import { OAuthError } from "./errors";
import { authorizationCodeGrant, clientCredentialsGrant, refreshTokenGrant } from "./grants";
import { parseScope } from "./scopes";
import { authorizationOf, noStore, providerOn, readForm } from "./token-form";
import { introspection, tokenForm, tokenOnlyForm, tokenResponse } from "./token-schemas";

// POST /oauth/token (RFC 6749 §3.2), /oauth/revoke (RFC 7009) and /oauth/introspect
// (RFC 7662): form-encoded, client-authenticated (client-auth.ts), per-IP limited,
// answered `no-store`, errors in the RFC shape.

const GRANTS = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
} as const;

/** The form's `token` (RFC 7009 §2.1, RFC 7662 §2.1), or `invalid_request`. */
function tokenOf(form: Record<string, string>): string {
  const token = form.token;
  if (token === undefined || token === "") throw new OAuthError("invalid_request", "token is required");
  return token;
}

/** What a presented token is, when it is one of ours: one of the provider's access tokens
 * (verified: signature, `typ: at+jwt`, issuer, audience, unexpired) or a live grant's
 * refresh token, rotated or not. The API's own tokens, id_tokens and anything else:
 * undefined. Length limits are verifyJwt's and findGrantToken's. */
async function presentedToken(ctx: Ctx, token: string) {
  if (token.split(".").length === 3) {
    const claims = await verifyProviderToken(ctx.config, token, ctx.config.oauth.resources);
    return claims && { kind: "access" as const, claims };
  }
  const row = await findGrantToken(ctx, token);
  return row && { kind: "refresh" as const, row };
}

/** What a presented token is, when it is a live one of ours: an access token (its grant
 * live, for a person's; its client still registered, for a client's own) or a grant's
 * current refresh token. */
async function liveToken(ctx: Ctx, token: string) {
  const presented = await presentedToken(ctx, token);
  if (presented?.kind === "access") {
    const { claims } = presented;
    // A client's own token (client_credentials) lives as long as its client does.
    if (!claims.sid) return (await findClient(ctx, claims.client_id)) ? { ...presented, user: undefined } : undefined;
    const user = await findLiveGrantUser(ctx, claims.sid, claims.sub);
    return user && { ...presented, user };
  }
  // A rotated token is not live (its holder has a newer one), even within the reuse interval.
  return presented?.row.replacedBy ? undefined : presented;
}

async function revoke(ctx: Ctx, client: OAuthClient, token: string): Promise<void> {
  const presented = await presentedToken(ctx, token);
  if (presented?.kind === "access") {
    const { claims } = presented;
    // An access token ends its whole grant: RFC 7009 §2.1 lets the server choose, and a
    // client revoking one means to end the grant (its refresh token would mint more).
    if (claims.sid && claims.client_id === client.clientId) {
      await revokeGrantFamily(ctx, claims.sub, claims.sid, client.clientId);
    }
    return;
  }
  // Another client's token: 200 and nothing revoked (RFC 7009 §2.1).
  const row = presented?.row;
  if (row && row.clientId === client.clientId) await revokeGrantFamily(ctx, row.userId, row.familyId, client.clientId);
}

/** RFC 7662 §2.2 for `client`. A refresh token is only ever its own client's business
 * (RFC 7662 §4: no token's details to a caller it isn't meant for), so another client's is
 * `active: false`; access tokens are described to any confidential client (resource
 * servers introspect tokens issued to others). */
async function introspect(ctx: Ctx, client: OAuthClient, token: string) {
  const live = await liveToken(ctx, token);
  if (!live || (live.kind === "refresh" && live.row.clientId !== client.clientId)) return { active: false };
  if (live.kind === "access") {
    const { claims, user } = live;
    const scope = parseScope(claims.scope);
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.client_id,
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      token_type: "Bearer" as const,
      ...(user && scope.includes("email") && { username: user.email }),
    };
  }
  const { row } = live;
  return {
    active: true,
    scope: row.scope ?? "",
    client_id: row.clientId ?? "",
    sub: row.userId,
    aud: row.resource ?? ctx.config.oauth.issuer,
    iss: ctx.config.oauth.issuer,
    exp: Math.floor(row.expiresAt.getTime() / 1000),
    iat: Math.floor(row.lastUsedAt.getTime() / 1000),
    token_type: "refresh_token" as const,
    ...(parseScope(row.scope).includes("email") && { username: row.email }),
  };
}

const FORM_ERRORS = {
  404: ["invalid_request"],
  413: ["invalid_request"],
  429: ["temporarily_unavailable"],
};

/** The routes. */
export const tokenEndpoints = new Hono<AppEnv>()
  .post(
    "/oauth/token",
    describe({
      operationId: "oauthToken",
      tag: "OAuth",
      summary: "Trade a grant for tokens (authorization_code, refresh_token, client_credentials)",
      description:
        "RFC 6749 §3.2, form-encoded only. Client authentication: `client_secret_basic` (id and secret form-url-encoded or not), `client_secret_post`, or `none` for public clients (`client_id` in the body). A code is single-use: its second use revokes every token issued from it. A refresh token comes when the client is registered with the `refresh_token` grant (with or without `offline_access`), an id_token when `openid` was granted. Refresh tokens rotate, with reuse detection and REFRESH_REUSE_INTERVAL. `Cache-Control: no-store`; CORS open to every origin, without credentials.",
      access: "public",
      form: tokenForm,
      ok: { status: 200, description: "The tokens (RFC 6749 §5.1)", json: tokenResponse, cacheControl: "no-store" },
      oauthErrors: {
        400: [
          "invalid_request",
          "invalid_grant",
          "unauthorized_client",
          "unsupported_grant_type",
          "invalid_scope",
          "invalid_target",
        ],
        401: ["invalid_client"],
        ...FORM_ERRORS,
      },
    }),
    providerOn,
    rateLimit("OAUTH_TOKEN_RATE_LIMIT"),
    async (c) => {
      const form = await readForm(c);
      const grantType = form.grant_type;
      if (grantType === undefined || grantType === "")
        throw new OAuthError("invalid_request", "grant_type is required");
      const ctx = ctxOf(c);
      const { client } = await authenticateClient(ctx, authorizationOf(c), form);
      if (!Object.hasOwn(GRANTS, grantType)) {
        throw new OAuthError(
          "unsupported_grant_type",
          "grant_type must be authorization_code, refresh_token or client_credentials",
        );
      }
      const body = await GRANTS[grantType as keyof typeof GRANTS](ctx, client, form);
      noStore(c);
      return c.json(body);
    },
  )
  .post(
    "/oauth/revoke",
    describe({
      operationId: "oauthRevoke",
      tag: "OAuth",
      summary: "Revoke a token (RFC 7009)",
      description:
        "Client-authenticated like POST /oauth/token. A refresh token or an access token of the calling client ends its whole grant (every token issued from the same authorization); an unknown token, or another client's, answers 200 and changes nothing.",
      access: "public",
      form: tokenOnlyForm,
      ok: { status: 200, description: "Revoked, or nothing to revoke (empty body)" },
      oauthErrors: { 400: ["invalid_request"], 401: ["invalid_client"], ...FORM_ERRORS },
    }),
    providerOn,
    rateLimit("OAUTH_TOKEN_RATE_LIMIT"),
    async (c) => {
      const form = await readForm(c);
      const ctx = ctxOf(c);
      const { client } = await authenticateClient(ctx, authorizationOf(c), form);
      await revoke(ctx, client, tokenOf(form));
      noStore(c);
      return c.body(null, 200);
    },
  )
  .post(
    "/oauth/introspect",
    describe({
      operationId: "oauthIntrospect",
      tag: "OAuth",
      summary: "Is this token live, and what does it carry (RFC 7662)",
      description:
        "Confidential clients only (a public client is 401 `invalid_client`). `{active:false}` for anything that is not a live token of this server (expired, revoked, its grant ended, the API's own tokens, an id_token) and for another client's refresh token; access tokens are described to any confidential client (resource servers).",
      access: "public",
      form: tokenOnlyForm,
      ok: { status: 200, description: "RFC 7662 §2.2", json: introspection, cacheControl: "no-store" },
      oauthErrors: { 400: ["invalid_request"], 401: ["invalid_client"], ...FORM_ERRORS },
    }),
    providerOn,
    rateLimit("OAUTH_TOKEN_RATE_LIMIT"),
    async (c: Context<AppEnv>) => {
      const form = await readForm(c);
      const ctx = ctxOf(c);
      const { client } = await authenticateClient(ctx, authorizationOf(c), form);
      if (client.type !== "confidential") {
        throw new OAuthError("invalid_client", "Only confidential clients may introspect", 401);
      }
      const body = await introspect(ctx, client, tokenOf(form));
      noStore(c);
      return c.json(body);
    },
  );
