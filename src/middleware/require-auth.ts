import type { Context, MiddlewareHandler } from "hono";
import { verifyAccessToken } from "../auth/tokens";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { readJsonObject } from "./json-body";

/** Verifies the access token and exposes its claims as `c.var.claims`.
 * No token: 403 `token_required`; any bad token: 401 `invalid_token`. */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = await findToken(c);
  if (token === undefined) throw new ApiError("token_required");
  c.set("claims", await verifyAccessToken(token, c.var.config));
  await next();
};

/** Where the tutorial's clients put tokens, most explicit first. The query string
 * is opt-in (`ALLOW_QUERY_TOKEN`): URLs end up in logs and Referer headers. */
async function findToken(c: Context<AppEnv>): Promise<string | undefined> {
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
  if (c.req.method === "POST") {
    const body = await readJsonObject(c);
    if (body && "token" in body) {
      if (typeof body.token !== "string") throw new ApiError("invalid_token");
      if (body.token !== "") return body.token;
    }
  }
  if (c.var.config.allowQueryToken) return c.req.query("token") || undefined;
  return undefined;
}
