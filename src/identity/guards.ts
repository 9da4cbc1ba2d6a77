import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../platform/env";
import { ApiError, ERRORS } from "../platform/errors";
import { readJsonObject } from "../platform/http/json-body";
import type { Role } from "../platform/schema";
import { findLiveSessionUser } from "./queries/sessions";
import type { User } from "./queries/users";
import { type AccessClaims, verifyAccessToken } from "./tokens";

/** What the token guards add to a request: the access token's verified claims. */
export type TokenEnv = { Bindings: AppEnv["Bindings"]; Variables: AppEnv["Variables"] & { claims: AccessClaims } };
/** What the session guards add: the claims and the account behind a live session. */
export type SessionEnv = { Bindings: AppEnv["Bindings"]; Variables: TokenEnv["Variables"] & { user: User } };

/** Stateless check for cheap routes such as `/welcome`: verifies the access token
 * (no D1 read) and exposes its claims as `c.var.claims`. Accepts every place the
 * tutorial's clients put tokens. No token: 403 `token_required`; a bad one: 401. */
export const requireAuth = createMiddleware<TokenEnv>(async (c, next) => {
  c.set("claims", await verifiedClaims(c, true));
  await next();
});

/** For routes that read or change the account: the token must also belong to a
 * session that is still live in D1 (not logged out, revoked, rotated away or
 * expired, user not deleted). Exposes the user as `c.var.user`. Tokens only from
 * headers here: new clients have no reason to put them in bodies or URLs. */
export const requireSession = createMiddleware<SessionEnv>(async (c, next) => {
  // Checked already in this request: a router's guard on a prefix (`/admin/*`) also runs
  // before the routes another router mounts under it, which carry their own.
  if ((c.var as Partial<SessionEnv["Variables"]>).user) return next();
  const claims = await verifiedClaims(c, false);
  const user = claims.sid ? await findLiveSessionUser(c.var.db, claims.sid, claims.sub, new Date()) : undefined;
  if (!user) throw new ApiError("invalid_token");
  c.set("claims", claims);
  c.set("user", user);
  await next();
});

/** The first half of `requireSession` for a route that reads the session together with
 * other rows in one batch (`GET /me`): header tokens only, verified, as `c.var.claims`.
 * The route itself must then check the session is live (liveSessionUserQuery). */
export const requireSessionClaims = createMiddleware<TokenEnv>(async (c, next) => {
  c.set("claims", await verifiedClaims(c, false));
  await next();
});

/** `requireSession`, then the account's role as D1 has it now (not as the token
 * remembers it) must be `role`; otherwise 403 `forbidden`. */
export function requireRole(role: Role) {
  return createMiddleware<SessionEnv>((c, next) =>
    requireSession(c, async () => {
      if (c.var.user.role !== role) throw new ApiError("forbidden");
      await next();
    }),
  );
}

async function verifiedClaims<E extends AppEnv>(c: Context<E>, tutorialTransports: boolean) {
  const token = await findToken(c, tutorialTransports);
  if (token === undefined) throw new ApiError("token_required", misplacedTokenHint(c, tutorialTransports));
  return verifyAccessToken(token, c.get("config"));
}

const REQUIRED = ERRORS.token_required[1];
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** When no token was found but the request carries one where this route does not read
 * it, the 403 says where tokens go; otherwise it keeps the tutorial's exact words. */
function misplacedTokenHint<E extends AppEnv>(c: Context<E>, tutorialTransports: boolean): string | undefined {
  const places = tutorialTransports
    ? `Authorization: Bearer <token>, the x-access-token header, a JSON body field "token" (POST)${c.get("config").allowQueryToken ? " or ?token=" : ""}`
    : "Authorization: Bearer <token> or the x-access-token header";
  const authorization = c.req.header("authorization")?.trim() ?? "";
  if (JWT_SHAPE.test(authorization)) {
    return `${REQUIRED}: the Authorization header holds a bare token; send "Authorization: Bearer <token>"`;
  }
  const queryRead = tutorialTransports && c.get("config").allowQueryToken;
  if (c.req.query("token") !== undefined && !queryRead) {
    const why = tutorialTransports
      ? "?token= is switched off here (ALLOW_QUERY_TOKEN)"
      : "this route does not read ?token=";
    return `${REQUIRED}: ${why}; tokens are read from ${places}`;
  }
  if (authorization !== "") return `${REQUIRED}: tokens are read from ${places}`;
  return undefined;
}

/** Where clients put tokens, most explicit first. The query string is opt-in
 * (`ALLOW_QUERY_TOKEN`): URLs end up in logs and Referer headers. */
async function findToken<E extends AppEnv>(c: Context<E>, tutorialTransports: boolean): Promise<string | undefined> {
  // Other schemes (Basic for a proxy, say) are not ours: look elsewhere. A Bearer
  // header that is not exactly one token is a bad token, not a missing one.
  const authorization = c.req.header("authorization")?.trim();
  if (authorization && /^bearer(\s|$)/i.test(authorization)) {
    const match = /^bearer +([^\s,]+)$/i.exec(authorization);
    if (!match?.[1]) throw new ApiError("invalid_token");
    return match[1];
  }
  const header = c.req.header("x-access-token")?.trim();
  if (header) return header;
  if (!tutorialTransports) return undefined;
  if (c.req.method === "POST") {
    const body = await readJsonObject(c);
    if (body && "token" in body) {
      if (typeof body.token !== "string") throw new ApiError("invalid_token");
      if (body.token !== "") return body.token;
    }
  }
  if (c.get("config").allowQueryToken) return c.req.query("token") || undefined;
  return undefined;
}
