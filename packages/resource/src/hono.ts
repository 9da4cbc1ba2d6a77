import type { Context, Env, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { errorResponse } from "./challenge";
import { metadataResponse } from "./metadata";
import type { ResourceOptions } from "./options";
import { type AccessToken, AccessTokenError, verifyAccessToken } from "./verify";

/** The options, or how to build them from the request's context (to read `c.env`). */
export type OptionsFrom<E extends Env> = ResourceOptions | ((c: Context<E>) => ResourceOptions);

/** What `requireAccessToken` adds to `c.var`. */
export type AccessTokenVariables = { accessToken: AccessToken };

const optionsOf = <E extends Env>(options: OptionsFrom<E>, c: Context<E>) =>
  typeof options === "function" ? options(c) : options;

/** Lets the request through only with an access token good for this resource (and its
 * `scopes`), as `c.var.accessToken`. A refusal is thrown as an `HTTPException` whose response
 * carries the challenge (as Hono's own `bearerAuth` does): an `onError` that answers
 * `err.getResponse()` for an `HTTPException` keeps it. */
export function requireAccessToken<E extends Env = Env>(
  options: OptionsFrom<E>,
): MiddlewareHandler<E & { Variables: AccessTokenVariables }> {
  return createMiddleware<E & { Variables: AccessTokenVariables }>(async (c, next) => {
    const settings = optionsOf(options, c as Context<E>);
    try {
      c.set("accessToken", await verifyAccessToken(c.req.raw, settings));
    } catch (err) {
      if (!(err instanceof AccessTokenError)) throw err;
      throw new HTTPException(err.status, { res: errorResponse(err, settings), cause: err });
    }
    await next();
  });
}

/** Answers the resource's RFC 9728 metadata at its path-aware URL; other requests go on. */
export function protectedResourceMetadataRoute<E extends Env = Env>(options: OptionsFrom<E>): MiddlewareHandler<E> {
  return createMiddleware<E>(async (c, next) => {
    const res = metadataResponse(c.req.raw, optionsOf(options, c));
    if (res) return res;
    await next();
  });
}
