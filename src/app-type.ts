import { Hono } from "hono";
import type { AppEnv } from "./env";
import { admin } from "./routes/admin";
import { auth } from "./routes/auth";
import { docs } from "./routes/docs";
import { health } from "./routes/health";
import { jwks } from "./routes/jwks";
import { me } from "./routes/me";
import { sessionRoutes } from "./routes/sessions";
import { welcome } from "./routes/welcome";

/** The routers src/index.ts mounts, chained on one Hono instance so their paths,
 * bodies and answers add up to one type for hono/client. The worker never calls this;
 * test/app-type.test.ts checks it serves exactly the routes the worker serves, so a
 * router mounted there and not here fails a test rather than vanishing from the client. */
export function apiRoutes() {
  return new Hono<AppEnv>()
    .route("/", health)
    .route("/", auth)
    .route("/", welcome)
    .route("/", sessionRoutes)
    .route("/", me)
    .route("/", admin)
    .route("/", jwks)
    .route("/", docs);
}

/** The whole API as a type, for `hc<AppType>(baseUrl)` (see client/). */
export type AppType = ReturnType<typeof apiRoutes>;
