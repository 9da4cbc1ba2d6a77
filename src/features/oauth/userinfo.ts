import { type Context, Hono } from "hono";
import { findLiveGrantUser } from "../../identity/oauth-grants";
import { scopedClaims } from "../../identity/oauth-tokens";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { describe } from "../../platform/openapi/describe";
import { verifyProviderToken } from "./access-tokens";
import { OAuthError } from "./errors";
import { parseScope } from "./scopes";
import { noStore, providerOn } from "./token-form";
import { userinfo } from "./token-schemas";

const utf8 = new TextDecoder();

// The UserInfo endpoint (OpenID Connect Core §5.3): the person behind one of our `at+jwt`
// access tokens with the `openid` scope, as its scopes let the client see them. The token
// comes in `Authorization: Bearer` (RFC 6750 §2.1) or, on POST, as the form-body
// `access_token` (§2.2; OpenID Connect conformance tests send it so); never in the query
// (§2.3), never in both places at once (§2: invalid_request). Its `aud` may be the issuer or any of OAUTH_RESOURCES: the
// token is the grant's, and the grant must still be live (not revoked by the person, a
// logout everywhere, a password change or the code's reuse), its account enabled.

/** Bearer errors (RFC 6750 §3): 401 `invalid_token`, 403 `insufficient_scope`. */
function bearerError(error: "invalid_token" | "insufficient_scope", description: string): OAuthError {
  const status = error === "invalid_token" ? 401 : 403;
  const scope = error === "insufficient_scope" ? ', scope="openid"' : "";
  return new OAuthError(error, description, status, `Bearer error="${error}"${scope}`);
}

/** The access token of `Authorization: Bearer <token>` or of a POST's
 * `application/x-www-form-urlencoded` body field `access_token` (RFC 6750 §2.1, §2.2).
 * Errors: 400 `invalid_request` when both are sent (RFC 6750 §2); 401 `invalid_token`
 * (with a bare `WWW-Authenticate: Bearer`, RFC 6750 §3.1) when neither is. */
async function bearerToken(c: Context): Promise<string> {
  const header = c.req.header("authorization");
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? "");
  const form =
    c.req.method === "POST" && /^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")
      ? new URLSearchParams(utf8.decode(await c.req.arrayBuffer())).getAll("access_token")
      : [];
  if (form.length > 0 && (header !== undefined || form.length > 1)) {
    throw new OAuthError("invalid_request", "Send the access token in one place only");
  }
  const token = match?.[1] ?? form[0];
  if (!token) {
    throw new OAuthError("invalid_token", "An access token is required: Authorization: Bearer <token>", 401, "Bearer");
  }
  return token;
}

async function answer(c: Context<AppEnv>) {
  const ctx = ctxOf(c);
  const claims = await verifyProviderToken(ctx.config, await bearerToken(c), ctx.config.oauth.resources);
  if (!claims?.sid) throw bearerError("invalid_token", "The access token is invalid or has expired");
  const scope = parseScope(claims.scope);
  if (!scope.includes("openid")) throw bearerError("insufficient_scope", "The access token lacks the openid scope");
  const user = await findLiveGrantUser(ctx, claims.sid, claims.sub);
  if (!user) throw bearerError("invalid_token", "The grant of this access token has ended");
  // A person's claims: no cache keeps them (RFC 9111 §5.2.2.5; RFC 6749 §5.1's pair).
  noStore(c);
  return c.json({ sub: user.id, ...scopedClaims(user, scope) });
}

const errors = {
  400: ["invalid_request"],
  401: ["invalid_token"],
  403: ["insufficient_scope"],
  404: ["invalid_request"],
};

function describeUserinfo(operationId: string, method: string) {
  return describe({
    operationId,
    tag: "OAuth",
    summary: `The signed-in person's claims (OpenID Connect UserInfo, ${method})`,
    description:
      "`Authorization: Bearer <access token>`, or on POST the form-body `access_token` (RFC 6750 §2.2; not both, else 400 `invalid_request`): one of this provider's `at+jwt` tokens with the `openid` scope, its `aud` the issuer or any of OAUTH_RESOURCES, whose grant is still live (the API's own access tokens are refused). Claims as its scopes allow: `email`, `email_verified` (email), `name`, `given_name`, `family_name` (profile).",
    access: "public",
    ok: { status: 200, description: "The claims", json: userinfo, cacheControl: "no-store" },
    oauthErrors: errors,
  });
}

/** GET and POST /oauth/userinfo. */
export const userinfoRoutes = new Hono<AppEnv>()
  .get("/oauth/userinfo", describeUserinfo("getOAuthUserinfo", "GET"), providerOn, answer)
  .post("/oauth/userinfo", describeUserinfo("postOAuthUserinfo", "POST"), providerOn, answer);
