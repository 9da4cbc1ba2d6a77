import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { me } from "./features/account/routes";
import { admin } from "./features/admin/routes";
import { auth } from "./features/auth/routes";
import { emailLogin } from "./features/email-login/routes";
import { scheduled } from "./features/housekeeping/scheduled";
import { password } from "./features/mail-links/reset-routes";
import { emailRoutes } from "./features/mail-links/routes";
import { mfa } from "./features/mfa/routes";
import { oauthAuthorize } from "./features/oauth/authorize-routes";
import { oauthClientRouters } from "./features/oauth/client-routes";
import {
  OPEN_CORS_PATHS,
  oauthAwareNotFound,
  oauthAwareOnError,
  oauthTokenRouters,
} from "./features/oauth/token-routes";
import { passkeyRoutes } from "./features/passkeys/routes";
import { docs } from "./features/service/docs";
import { health } from "./features/service/health";
import { jwks } from "./features/service/jwks";
import { sessionRoutes } from "./features/sessions/routes";
import { socialRoutes } from "./features/social/routes";
import { welcome } from "./features/welcome/routes";
import { keyringOf } from "./identity/keys";
import { ConfigError, getConfig } from "./platform/config";
import { openDb } from "./platform/db";
import type { AppEnv } from "./platform/env";
import { ApiError, notFound, onError } from "./platform/errors";
import { bodyLimit } from "./platform/http/body-limit";
import { corsFromEnv, openCorsFor } from "./platform/http/cors";
import { methodNotAllowed } from "./platform/http/method-not-allowed";
import { setDefaultCaching, setSecurityHeaders } from "./platform/http/security-headers";

const app = new Hono<AppEnv>();

// The order below is the security model.
// 1. Security headers on everything, so even preflights and errors carry them, and a
//    request id, so every log line (even a misconfiguration) can be traced. One
//    middleware, not two: each level costs every request a little. Every answer that
//    did not choose its own caching (only the public documents do) is `no-store`.
const withRequestId = requestId();
app.use(async (c, next) => {
  setSecurityHeaders(c);
  await withRequestId(c, next);
  setDefaultCaching(c);
});
// 2. CORS before anything that can reject, so preflights never meet auth or a
//    misconfiguration, and every error stays readable by allowed browsers. The OAuth
//    provider's discovery and token endpoints are open to every origin, without credentials.
openCorsFor(OPEN_CORS_PATHS);
app.use(corsFromEnv);
// 3. Configuration: a deployment with a missing or weak secret answers every request
//    with 500 server_misconfigured instead of signing tokens with a bad key.
app.use(async (c, next) => {
  try {
    const config = getConfig(c.env);
    // Keys are imported once per isolate; bad key material fails here, for every route.
    await keyringOf(config);
    c.set("config", config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ApiError("server_misconfigured", undefined, err.message);
  }
  // One D1 session per request: replica reads unless the client's bookmark asks for newer.
  const d1 = openDb(c.env, c.req);
  c.set("db", d1.db);
  await next();
  d1.annotate(c);
});
// 4. Small bodies only: every body we accept is a few hundred bytes.
app.use(bodyLimit(16 * 1024));

// 5. The routes: one list, mounted here and typed for hono/client (`AppType`). Each router
//    carries its own guards (src/identity/guards.ts) on the routes that need them.
const routers = [
  health,
  auth,
  welcome,
  sessionRoutes,
  me,
  emailRoutes,
  password,
  mfa,
  passkeyRoutes,
  admin,
  jwks,
  socialRoutes,
  docs(app),
  emailLogin,
  ...oauthTokenRouters,
  oauthAuthorize,
  ...oauthClientRouters,
] as const;
// A router's own env may add the variables of its guards (the admin router's `user`);
// mounting is the same for every one.
for (const router of routers) app.route("/", router as Hono<AppEnv>);

// The OAuth provider's JSON endpoints answer their errors in the RFC shape.
app.notFound(oauthAwareNotFound(methodNotAllowed(app, notFound)));
app.onError(oauthAwareOnError(onError));

/** The Hono app, for tests that call it with their own bindings (`app.request`). */
export { app };

/** The whole API as a type, for `hc<AppType>(baseUrl)` (see client/): the union of the
 * routers above, which hono/client turns into one client. */
export type AppType = (typeof routers)[number];

// `fetch` serves the API; `scheduled` runs housekeeping from the Cron Trigger in wrangler.toml.
export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<CloudflareBindings>;
