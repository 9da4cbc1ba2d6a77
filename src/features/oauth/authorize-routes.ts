import { Hono } from "hono";
import type { AppEnv } from "../../platform/env";

/** GET/POST /oauth/authorize: the login, second-factor and consent pages (RFC 6749 §4.1,
 * OpenID Connect Core §3.1.2). */
export const oauthAuthorize = new Hono<AppEnv>();
