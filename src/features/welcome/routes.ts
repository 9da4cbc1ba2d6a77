import { Hono } from "hono";
import { requireAuth } from "../../identity/guards";
import type { AppEnv } from "../../platform/env";
import { describe } from "../../platform/openapi/describe";
import { ok, WELCOME, welcomeBody } from "./schemas";

/** The tutorial's protected route: GET in its repository, POST in its article. */
export const welcome = new Hono<AppEnv>()
  .get(
    "/welcome",
    describe({
      operationId: "getWelcome",
      tag: "Auth",
      summary: "The tutorial's protected route",
      description:
        "Stateless: verifies the access token without reading D1, so a revoked session's token works here until it expires. The token may also come in `?token=` when the deployment sets ALLOW_QUERY_TOKEN=true.",
      access: "token",
      query: { token: "An access token; ignored unless ALLOW_QUERY_TOKEN=true (URLs end up in logs)" },
      ok,
      database: false,
    }),
    requireAuth,
    (c) => c.text(WELCOME),
  )
  .post(
    "/welcome",
    describe({
      operationId: "postWelcome",
      tag: "Auth",
      summary: "The tutorial's protected route, POST",
      description:
        "As GET /welcome; the token may also come in the JSON body field `token`, read only when no header carries one.",
      access: "token",
      optionalBody: welcomeBody,
      ok,
      database: false,
    }),
    requireAuth,
    (c) => c.text(WELCOME),
  );
