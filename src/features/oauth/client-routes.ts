import { Hono } from "hono";
import type { AppEnv } from "../../platform/env";
import { clientAdmin } from "./client-admin";
import { grantsRoutes } from "./grants-routes";
import { registration } from "./registration";

/** /admin/oauth/clients, POST /oauth/register (RFC 7591) and /me/oauth/grants. */
export const oauthClientRoutes = new Hono<AppEnv>()
  .route("/", clientAdmin)
  .route("/", registration)
  .route("/", grantsRoutes);
