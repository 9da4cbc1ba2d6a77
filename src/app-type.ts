import { Hono } from "hono";
import type { AppEnv } from "./env";
import { admin } from "./routes/admin";
import { auth } from "./routes/auth";
import { docs } from "./routes/docs";
import { emailRoutes } from "./routes/email";
import { health } from "./routes/health";
import { jwks } from "./routes/jwks";
import { me } from "./routes/me";
import { mfa } from "./routes/mfa";
import { passkeyRoutes } from "./routes/passkeys";
import { password } from "./routes/password";
import { sessionRoutes } from "./routes/sessions";
import { welcome } from "./routes/welcome";

/** The routers src/index.ts mounts, chained on one Hono instance so their paths,
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
