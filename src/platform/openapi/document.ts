import type { Hono } from "hono";
import { findTargetHandler } from "hono/utils/handler";
import * as z from "zod/mini";
import { version } from "../../../package.json";
import { ERRORS, type ErrorCode } from "../errors";
import { type Access, COMPONENTS, DOC, doc, INPUT, type Input, type RouteDoc } from "./describe";
import { oauthErrorResponse, oauthErrorShape } from "./oauth-errors";

// The OpenAPI 3.1 document served at /openapi.json, built from the routes' own `describe`
// and validators, the way hono-openapi's `describeRoute` does (that library itself would
// add ~75 KiB gzip: its JSON Schema layer dynamically imports all of `zod/v4/core`,
// locales included). This file is the frame: info, security schemes, the error envelope,
// and the one place error codes become responses with examples.

const byStatus = (a: ErrorCode, b: ErrorCode) => ERRORS[a][0] - ERRORS[b][0];
/** Every error code, by status, then in src/platform/errors.ts order. */
const ALL_CODES = (Object.keys(ERRORS) as ErrorCode[]).sort(byStatus) as [ErrorCode, ...ErrorCode[]];

/** The JSON error envelope; each response lists its own codes, with an example of each. */
const errorEnvelope = z.object({
  error: z.object({ code: z.enum(ALL_CODES), message: doc(z.string(), "For people; branch on `code`") }),
});

const ACCESS_CODES: Record<Access, ErrorCode[]> = {
  public: [],
  token: ["token_required", "invalid_token"],
  session: ["token_required", "invalid_token"],
  admin: ["token_required", "invalid_token", "forbidden"],
};
/** Answered by any route with a request body, before its validator runs (src/platform/http/json-body.ts, body-limit.ts). */
const BODY_CODES: ErrorCode[] = ["invalid_json", "payload_too_large", "unsupported_media_type"];
/** A form body's: no JSON to be malformed. */
const FORM_CODES: ErrorCode[] = ["payload_too_large", "unsupported_media_type"];
/** Answered by any route: a misconfigured deployment, a bug. */
const ANY_ROUTE_CODES: ErrorCode[] = ["internal", "server_misconfigured"];

const SECURITY_SCHEMES = {
  bearer: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "`Authorization: Bearer <token>`, the `token` from register, login or refresh",
  },
  accessToken: {
    type: "apiKey",
    in: "header",
    name: "x-access-token",
    description: "The same access token in the tutorial's header",
  },
  refreshCookie: {
    type: "apiKey",
    in: "cookie",
    name: "__Secure-refresh_token",
    description:
      'The refresh token set by register, login, password change or refresh when asked with `refresh_transport: "cookie"`: HttpOnly, Secure, SameSite=COOKIE_SAMESITE, Path=/token, Max-Age=REFRESH_TTL. Only POST /token/refresh reads it.',
  },
} as const;

const DESCRIPTION = `The freeCodeCamp register/login/welcome API, rebuilt as a Hono worker on Cloudflare D1.

**Errors** are JSON, \`{"error":{"code","message"}}\`: branch on \`code\`, show \`message\`. Each operation lists the codes it can answer. \`rate_limited\` (429) and \`service_unavailable\` (503) come with \`Retry-After\`; a method a path does not serve gets 405 \`method_not_allowed\` with \`Allow\`; an unknown path gets 404 \`not_found\`.

**Tokens**: routes marked with a lock take the access token from \`Authorization: Bearer\` or \`x-access-token\`. Account, session and admin routes also check in D1 that the token's session is still live; \`/welcome\` does not.

Every response carries \`X-Request-Id\`. CORS is answered on every route for the origins in CORS_ORIGINS.`;

type Json = Record<string, unknown>;

const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

function errorResponse(status: number, codes: ErrorCode[]): Json {
  const headers: Json = {};
  if (status === 429 || status === 503) headers["Retry-After"] = header("RetryAfter");
  if (status === 405) headers.Allow = header("Allow");
  return {
    description: codes.map((code) => `\`${code}\``).join(", "),
    ...(Object.keys(headers).length > 0 && { headers }),
    content: {
      "application/json": {
        schema: { $ref: "#/components/schemas/Error" },
        examples: Object.fromEntries(
          codes.map((code) => [code, { value: { error: { code, message: ERRORS[code][1] } } }]),
        ),
      },
    },
  };
}

/** JSON Schema for `schema` as a client sends it (`io: "input"`: before transforms, and
 * with objects left open, since unknown fields are ignored). */
function jsonSchema(schema: z.ZodMiniType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input" });
  return rest;
}

/** Every named schema, with references between them as `#/components/schemas/<name>`. */
function componentSchemas(): Record<string, Json> {
  const { schemas } = z.toJSONSchema(COMPONENTS, { io: "input", uri: (id) => `#/components/schemas/${id}` });
  const out: Record<string, Json> = {};
  // `$id` would be a fragment-only id, which JSON Schema 2020-12 forbids; the key names them.
  for (const [id, { $schema: _, $id: __, ...rest }] of Object.entries(schemas)) out[id] = rest;
  return out;
}

/** A reference to the component `schema` was `named` as. */
function ref(schema: z.ZodMiniType): Json {
  const id = COMPONENTS.get(schema)?.id;
  if (!id) throw new Error('OpenAPI: a JSON body schema must be named (named("Name", schema))');
  return { $ref: `#/components/schemas/${id}` };
}

/** The operation object of one route, from its `describe` and its validators. */
function operation(route: RouteDoc, inputs: Input[]): Json {
  const { ok } = route;
  const parameters: Json[] = [
    ...Object.entries(route.params ?? {}).map(([name, description]) => ({
      name,
      in: "path",
      required: true,
      description,
      schema: { type: "string" },
    })),
    ...Object.entries(route.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    })),
  ];
  for (const input of inputs.filter(({ target }) => target === "query")) {
    const query = jsonSchema(input.schema) as { properties: Record<string, Json>; required?: string[] };
    for (const [name, { description, ...schema }] of Object.entries(query.properties)) {
      const required = query.required?.includes(name) ?? false;
      parameters.push({ name, in: "query", required, description, schema });
    }
  }
  const body = inputs.find(({ target }) => target === "json")?.schema;
  const requestBody = body
    ? { required: true, content: { "application/json": { schema: ref(body) } } }
    : route.form
      ? { required: true, content: { "application/x-www-form-urlencoded": { schema: ref(route.form) } } }
      : route.oauthBody
        ? { required: true, content: { "application/json": { schema: ref(route.oauthBody) } } }
        : route.optionalBody && {
            required: false,
            content: { "application/json": { schema: ref(route.optionalBody) } },
          };

  const success: Json = { description: ok.description };
  if (ok.cacheControl) success.headers = { "Cache-Control": { schema: { type: "string", const: ok.cacheControl } } };
  if (ok.location || ok.status === 302) {
    const description = ok.location ?? "Where the browser goes next";
    success.headers = {
      ...(success.headers as Json),
      Location: { description, schema: { type: "string", format: "uri" } },
    };
  }
  if (ok.json) success.content = { "application/json": { schema: ref(ok.json) } };
  if (ok.text) {
    const media = Object.entries(ok.text).map(([type, example]) => [type, { schema: { type: "string" }, example }]);
    success.content = Object.fromEntries(media);
  }
  const listed = new Set<ErrorCode>([
    ...ACCESS_CODES[route.access],
    ...(requestBody && !route.oauthBody ? (route.form && !body ? FORM_CODES : BODY_CODES) : []),
    ...(route.errors ?? []),
    ...(route.database === false ? [] : (["service_unavailable"] as const)),
    ...ANY_ROUTE_CODES,
  ]);
  const responses: Json = { [ok.status]: success };
  if (route.alsoOk) {
    const { status, description, json } = route.alsoOk;
    responses[status] = { description, content: { "application/json": { schema: ref(json) } } };
  }
  if (route.oauthErrors) {
    for (const [status, codes] of Object.entries(route.oauthErrors)) {
      if (codes && codes.length > 0) responses[status] = oauthErrorResponse(Number(status), [...codes]);
    }
  } else {
    for (const status of new Set(ALL_CODES.map((code) => ERRORS[code][0]))) {
      const codes = ALL_CODES.filter((code) => listed.has(code) && ERRORS[code][0] === status);
      if (codes.length > 0) responses[status] = errorResponse(status, codes);
    }
  }
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description && { description: route.description }),
    ...(route.access !== "public" && !route.oauthErrors && { security: [{ bearer: [] }, { accessToken: [] }] }),
    // No security (a refresh_token in the body) or the refresh cookie.
    ...(route.cookie && { security: [{}, { refreshCookie: [] }] }),
    ...(parameters.length > 0 && { parameters }),
    ...(requestBody && { requestBody }),
    responses,
  };
}

/** The routes to document: a Hono app, of which only `routes` is read. */
type Routes = { routes: Hono["routes"] };

/** Each route's `describe` and validators, by "method /openapi/path" ("post /login"). */
function gather(app: Routes) {
  // Each handler of a route is an entry of its own in `app.routes`: gather them by route.
  const found = new Map<string, { route?: RouteDoc; inputs: Input[] }>();
  for (const { method, path, handler } of app.routes) {
    if (method === "ALL") continue;
    const key = `${method.toLowerCase()} ${openApiPath(path)}`;
    const entry = found.get(key) ?? { inputs: [] };
    found.set(key, entry);
    const target = findTargetHandler(handler) as { [DOC]?: RouteDoc; [INPUT]?: Input };
    entry.route ??= target[DOC];
    if (target[INPUT]) entry.inputs.push(target[INPUT]);
  }
  return found;
}

/** The documentation of every described route, by "method /openapi/path" ("post /login"):
 * what the tests check each 2xx answer against. */
export function routeDocs(app: Routes): Map<string, RouteDoc> {
  const docs = new Map<string, RouteDoc>();
  for (const [key, { route }] of gather(app)) if (route) docs.set(key, route);
  return docs;
}

function build(app: Routes): Json {
  const found = gather(app);
  const paths: Record<string, Json> = {};
  for (const [key, { route, inputs }] of found) {
    // A route without `describe` is left out, and test/openapi.test.ts names it.
    if (!route) continue;
    const [method = "", path = ""] = key.split(" ");
    paths[path] = { ...paths[path], [method]: operation(route, inputs) };
  }
  return {
    openapi: "3.1.1",
    info: { title: "edge-auth-api", version, description: DESCRIPTION },
    servers: [{ url: "/" }],
    tags: [
      { name: "Auth", description: "Register, log in, and the tutorial's protected route" },
      { name: "Sessions", description: "Refresh tokens, logout, the user's sessions" },
      { name: "Account", description: "The caller's own account" },
      { name: "Email", description: "Mailed links: verification, password reset, email change" },
      { name: "Second factors", description: "TOTP with recovery codes, and passkeys (WebAuthn)" },
      { name: "Admin", description: "Needs an admin whose session is live" },
      { name: "Service", description: "Health, keys and this reference" },
      {
        name: "OAuth",
        description: "The OAuth 2.1 / OpenID Connect provider (OAUTH_PROVIDER); errors in the RFC shape",
      },
    ],
    paths,
    components: {
      schemas: { ...componentSchemas(), Error: jsonSchema(errorEnvelope), OAuthError: jsonSchema(oauthErrorShape) },
      securitySchemes: SECURITY_SCHEMES,
      headers: {
        RetryAfter: { description: "Seconds to wait before retrying", schema: { type: "integer", minimum: 0 } },
        Allow: { description: "The methods this path serves", schema: { type: "string" } },
      },
      responses: {
        MethodNotAllowed: errorResponse(405, ["method_not_allowed"]),
        NotFound: errorResponse(404, ["not_found"]),
      },
    },
  };
}

/** A Hono route path in OpenAPI's syntax: `/sessions/:id` is `/sessions/{id}`, and a
 * parameter's pattern (`:file{.+}`) is dropped. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");
}

let document: Json | undefined;

/** The OpenAPI document of `app`'s routes, built on first use and kept for the isolate's
 * life; `origin` becomes its server, so clients that import it by URL (Postman) call the
 * same host. */
export function openApiDocument(app: Routes, origin: string): Json {
  document ??= build(app);
  return { ...document, servers: [{ url: origin }] };
}
