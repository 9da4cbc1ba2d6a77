import { clientAdmin } from "./client-admin";
import { grantsRoutes } from "./grants-routes";
import { registration } from "./registration";

/** /admin/oauth/clients, POST /oauth/register (RFC 7591) and /me/oauth/grants: routers for
 * src/worker.ts's list, each mounted as is (no `.route()` nesting: the typed client's
 * AppType is the union of the listed routers). */
export const oauthClientRouters = [clientAdmin, registration, grantsRoutes] as const;
