import { Hono } from "hono";
import { me } from "./features/account/routes";
import { admin } from "./features/admin/routes";
import { auth } from "./features/auth/routes";
import { password } from "./features/mail-links/reset-routes";
import { emailRoutes } from "./features/mail-links/routes";
import { mfa } from "./features/mfa/routes";
import { passkeyRoutes } from "./features/passkeys/routes";
import { docs } from "./features/service/docs";
import { health } from "./features/service/health";
import { jwks } from "./features/service/jwks";
import { sessionRoutes } from "./features/sessions/routes";
import { welcome } from "./features/welcome/routes";
import type { AppEnv } from "./platform/env";

/** The routers src/worker.ts mounts, chained on one Hono instance so their paths,
 * bodies and answers add up to one type for hono/client. The worker never calls this;
 * test/app-type.test.ts checks it serves exactly the routes the worker serves, so a
 * router mounted there and not here fails a test rather than vanishing from the client. */
export function apiRoutes() {
  const api = new Hono<AppEnv>();
  return api
    .route("/", health)
    .route("/", auth)
    .route("/", welcome)
    .route("/", sessionRoutes)
    .route("/", me)
    .route("/", emailRoutes)
    .route("/", password)
    .route("/", mfa)
    .route("/", passkeyRoutes)
    .route("/", admin)
    .route("/", jwks)
    .route("/", docs(api));
}

/** The whole API as a type, for `hc<AppType>(baseUrl)` (see client/). */
export type AppType = ReturnType<typeof apiRoutes>;
