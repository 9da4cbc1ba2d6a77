import { Hono } from "hono";
import type { AppEnv } from "../../platform/env";

/** /admin/oauth/clients, POST /oauth/register (RFC 7591) and /me/oauth/grants. */
export const oauthClientRoutes = new Hono<AppEnv>();
