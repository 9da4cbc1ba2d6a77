import { and, eq } from "drizzle-orm";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";
import { singleUseTokens } from "../../platform/schema";
import { findSingleUse, mintSingleUse, type SingleUseRow, singleUseHash } from "../../platform/single-use";
import type { AuthorizationRequest } from "./authorize-request";

// A request waiting at the login, second-factor or consent page is an `oauth_request`
// single-use row (src/platform/single-use.ts): its random value is the pages' CSRF token
// (the hidden `csrf_token` of every form), only its SHA-256 is stored, with the request's
// parameters (checked again at every step) and the SHA-256 of the browser cookie it is
// bound to. A POST is accepted only with both, from the same browser; the consent step
// uses the row up. An account event that ends sessions retires the rows of its account
// (src/identity/retirement.ts).

/** How long a person may take between opening the login page and consenting, seconds. */
export const REQUEST_TTL_SECONDS = 10 * 60;

type RequestData = { params: [string, string][]; browser: string };

/** A new request row for `request`, bound to `browser` (SHA-256 of its cookie) and, once
 * known, to the signed-in `userId`. `value` is the forms' CSRF token; batch `insert`. */
export function mintRequest(ctx: Ctx, request: AuthorizationRequest, browser: string, userId: string | null) {
  const data: RequestData = { params: request.params, browser };
  return mintSingleUse(ctx.db, "oauth_request", { userId, ttlSeconds: REQUEST_TTL_SECONDS, data }, ctx.now);
}

/** A waiting request, found by its CSRF token. */
export type WaitingRequest = { hash: string; row: SingleUseRow; params: [string, string][] };

/** The live request row `csrfToken` names, if the browser presenting it (`browser`, the
 * SHA-256 of its cookie) is the one it is bound to; otherwise undefined (no token, an
 * unknown, used or expired one, or another browser's). */
export async function findRequest(
  ctx: Ctx,
  csrfToken: unknown,
  browser: string | undefined,
): Promise<WaitingRequest | undefined> {
  const hash = await singleUseHash(csrfToken);
  if (!hash || !browser) return undefined;
  const [row] = await findSingleUse(ctx.db, hash, "oauth_request", ctx.now);
  if (!row?.data) return undefined;
  const data = JSON.parse(row.data) as RequestData;
  if (data.browser !== browser || !Array.isArray(data.params)) return undefined;
  return { hash, row, params: data.params };
}

/** Binds the request row `tokenHash` to `userId`, who just signed in on its page: its
 * consent form is then good only while that account is the browser's session (another
 * account signing in in another tab makes it stale). Batchable. */
export function bindRequest(ctx: Ctx, tokenHash: string, userId: string) {
  return ctx.db
    .update(singleUseTokens)
    .set({ userId })
    .where(and(eq(singleUseTokens.tokenHash, tokenHash), eq(singleUseTokens.purpose, "oauth_request")));
}

/** False when this IP is over OAUTH_AUTHORIZE_RATE_LIMIT (the request counted either way). */
export async function withinLimit(ctx: Ctx): Promise<boolean> {
  try {
    await ctx.limit("OAUTH_AUTHORIZE_RATE_LIMIT");
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.code === "rate_limited") return false;
    throw err;
  }
}
