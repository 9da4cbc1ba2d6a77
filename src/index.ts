import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { ConfigError, getConfig } from "./config";
import { BOOKMARK_HEADER, openDb } from "./db/client";
import type { AppEnv } from "./env";
import { ApiError, notFound, onError } from "./errors";
import { corsFromConfig } from "./middleware/cors";
import { auth } from "./routes/auth";
import { health } from "./routes/health";
import { welcome } from "./routes/welcome";

const app = new Hono<AppEnv>();

// The order below is the security model.
// 1. A request id, so every log line (even a misconfiguration) can be traced.
app.use(requestId());
// 2. Configuration: a deployment with a missing or weak secret answers nothing, not
//    even preflights, instead of signing tokens with a bad key.
app.use(async (c, next) => {
  try {
    c.set("config", getConfig(c.env));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ApiError("server_misconfigured", undefined, err.message);
  }
  // One D1 session per request: replica reads unless the client's bookmark asks for newer.
  const d1 = openDb(c.env, c.req.header(BOOKMARK_HEADER));
  c.set("db", d1.db);
  await next();
  d1.annotate(c);
});
// 3. CORS before anything that can reject, so preflights never meet auth and
//    error responses stay readable by allowed browsers.
app.use(corsFromConfig);
// 4. Small bodies only: every body we accept is a few hundred bytes.
app.use(
  bodyLimit({
    maxSize: 16 * 1024,
    onError: () => {
      throw new ApiError("payload_too_large");
    },
  }),
);

app.route("/", health);
app.route("/", auth);
app.route("/", welcome);

app.notFound(notFound);
app.onError(onError);

export default app;
