import { DISCOVERY_PATHS, discovery } from "./metadata";
import { tokenEndpoints } from "./token-endpoint";
import { userinfoRoutes } from "./userinfo";

/** The discovery documents (RFC 8414, OpenID Connect Discovery), POST /oauth/token,
 * /oauth/userinfo, /oauth/revoke (RFC 7009) and /oauth/introspect (RFC 7662): routers for
 * src/worker.ts's list, each mounted as is (no `.route()` nesting: the typed client's
 * AppType is the union of the listed routers, see packages/client/build.mjs). */
export const oauthTokenRouters = [discovery, tokenEndpoints, userinfoRoutes] as const;

/** The paths every origin may call without credentials (src/platform/http/cors.ts
 * `openCorsFor`): browser apps of other origins discover the provider and trade codes. */
export const OPEN_CORS_PATHS = [
  ...DISCOVERY_PATHS,
  "/oauth/token",
  "/oauth/userinfo",
  "/oauth/revoke",
  "/oauth/introspect",
] as const;

export { oauthAwareNotFound, oauthAwareOnError } from "./token-errors";
