import { Hono } from "hono";
import * as z from "zod/mini";
import { keyringOf } from "../../identity/keys";
import type { AppEnv } from "../../platform/env";
import { describe, doc, named } from "../../platform/openapi/describe";

const publicJwk = z.object({
  kty: z.string(),
  crv: z.optional(z.string()),
  x: z.optional(z.string()),
  y: z.optional(z.string()),
  n: z.optional(z.string()),
  e: z.optional(z.string()),
  kid: z.string(),
  alg: z.enum(["ES256", "EdDSA", "RS256"]),
  use: z.literal("sig"),
});

/** The public keys other services verify our access tokens with. Empty with HS256,
 * whose key is a shared secret that must never be published. */
export const jwks = new Hono<AppEnv>().get(
  "/.well-known/jwks.json",
  describe({
    operationId: "getJwks",
    tag: "Service",
    summary: "Public keys that verify access tokens",
    description: 'Every key of JWT_PRIVATE_KEYS, public half only; `{"keys":[]}` with HS256.',
    access: "public",
    ok: {
      status: 200,
      description: "A JWK Set",
      json: named("Jwks", z.object({ keys: doc(z.array(publicJwk), "Empty with HS256, whose key is a secret") })),
      cacheControl: "public, max-age=300",
    },
    database: false,
  }),
  async (c) => {
    const { jwks } = await keyringOf(c.var.config);
    c.header("Cache-Control", "public, max-age=300");
    return c.json(jwks);
  },
);
