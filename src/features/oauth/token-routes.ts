import { Hono } from "hono";
import type { AppEnv } from "../../platform/env";

/** The discovery documents (RFC 8414, OpenID Connect Discovery), POST /oauth/token,
 * /oauth/userinfo, /oauth/revoke (RFC 7009) and /oauth/introspect (RFC 7662). */
export const oauthToken = new Hono<AppEnv>();
