import { Hono } from "hono";
import { keyringOf } from "../auth/keys";
import type { AppEnv } from "../env";

/** The public keys other services verify our access tokens with. Empty with HS256,
 * whose key is a shared secret that must never be published. */
export const jwks = new Hono<AppEnv>().get("/.well-known/jwks.json", async (c) => {
  const { jwks } = await keyringOf(c.var.config);
  c.header("Cache-Control", "public, max-age=300");
  return c.json(jwks);
});
