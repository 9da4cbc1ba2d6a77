import * as z from "zod/mini";
import { version } from "../package.json";
import { ERRORS } from "./errors";
import { accessBody, listUsersQuery } from "./routes/admin";
import { loginBody, registerBody } from "./routes/auth";
import { changePasswordBody, deleteMeBody, patchMeBody } from "./routes/me";
import { refreshBody } from "./routes/sessions";

// The OpenAPI 3.1 document served at /openapi.json. Request schemas are the very zod
// schemas the routes validate with, converted by zod's own `z.toJSONSchema`; response
// schemas below only document. The route table is checked against `app.routes` by
// test/openapi.test.ts, so a route added without an entry here fails the tests.
// zod/mini, like the routes: the classic API would double the bundle.

type Code = keyof typeof ERRORS;
const byStatus = (a: Code, b: Code) => ERRORS[a][0] - ERRORS[b][0];
/** Every error code, by status, then in src/errors.ts order. */
const ALL_CODES = (Object.keys(ERRORS) as Code[]).sort(byStatus) as [Code, ...Code[]];

/** `schema` with a description (and other JSON Schema keywords) in the document. */
function doc<T extends z.ZodMiniType>(schema: T, meta: string | Record<string, unknown>): T {
  return schema.check(typeof meta === "string" ? z.describe(meta) : z.meta(meta));
}

// Response bodies, as src/db/users.ts, src/auth/sessions.ts and the routes build them.
const timestamp = () => doc(z.string(), { format: "date-time", examples: ["2026-11-26T15:22:09.225Z"] });
const uuid = (description: string) =>
  doc(z.string(), { format: "uuid", description, examples: ["0b6f0a8e-3f4b-4c55-9f7e-5f3c7b1d2a90"] });

const userShape = {
  id: uuid("The user id"),
  first_name: z.string(),
  last_name: z.string(),
  email: doc(z.string(), { format: "email", description: "Trimmed, NFC-normalized, lowercase" }),
};

const tokenPairShape = {
  token: doc(z.string(), "Access token: a JWT signed with JWT_ALG, valid for TOKEN_TTL"),
  refresh_token: z.optional(
    doc(
      z.string(),
      'Opaque, single-use: trade it at POST /token/refresh before REFRESH_TTL. Absent with `refresh_transport: "cookie"`: it is then in the HttpOnly `__Secure-refresh_token` cookie (Path=/token)',
    ),
  ),
  expires_in: doc(z.int().check(z.positive()), "Lifetime of `token` in seconds"),
};

const account = z.object({
  ...userShape,
  created_at: timestamp(),
  role: z.enum(["user", "admin"]),
  disabled: doc(z.boolean(), "A disabled user cannot log in or refresh"),
  updated_at: timestamp(),
});

const session = z.object({
  id: uuid("The session id, for DELETE /sessions/{id}"),
  created_at: timestamp(),
  last_used_at: timestamp(),
  user_agent: z.nullable(z.string()),
  ip: doc(z.nullable(z.string()), "From CF-Connecting-IP only; null under wrangler dev"),
  current: doc(z.boolean(), "The session of the token making this request"),
});

const publicJwk = z.object({
  kty: z.string(),
  crv: z.optional(z.string()),
  x: z.optional(z.string()),
  y: z.optional(z.string()),
  n: z.optional(z.string()),
  e: z.optional(z.string()),
  kid: z.string(),
  alg: z.enum(["ES256", "EdDSA", "RS256"]),
  use: z.literal("sig"),
});

/** The JSON error envelope; each response lists its own codes, with an example of each. */
const errorEnvelope = z.object({
  error: z.object({ code: z.enum(ALL_CODES), message: doc(z.string(), "For people; branch on `code`") }),
});

/** The POST /welcome body: read by require-auth, which takes the token from it. */
const welcomeBody = z.object({ token: doc(z.optional(z.string()), "An access token (the tutorial's transport)") });
/** The GET /welcome query, honoured only with ALLOW_QUERY_TOKEN=true. */
const welcomeQuery = z.object({ token: z.optional(z.string()) });

/** Everything under components/schemas, by name. */
const SCHEMAS = {
  RegisterBody: registerBody,
  LoginBody: loginBody,
  WelcomeBody: welcomeBody,
  RefreshBody: refreshBody,
  PatchMeBody: patchMeBody,
  ChangePasswordBody: changePasswordBody,
  DeleteMeBody: deleteMeBody,
  AccessBody: accessBody,
  SignedIn: z.object({ ...userShape, ...tokenPairShape, created_at: timestamp() }),
  TokenPair: z.object(tokenPairShape),
  Account: account,
  Session: session,
  SessionList: z.object({ sessions: z.array(session) }),
  UserPage: z.object({
    users: z.array(account),
    next_cursor: doc(z.nullable(z.string()), "Pass back as `cursor` for the next page; null on the last"),
  }),
  Health: z.object({ status: z.literal("ok") }),
  Jwks: z.object({ keys: doc(z.array(publicJwk), "Empty with HS256, whose key is a secret") }),
  OpenApiDocument: doc(z.record(z.string(), z.unknown()), "An OpenAPI 3.1 document: this one"),
  Error: errorEnvelope,
};
type SchemaName = keyof typeof SCHEMAS;

type Access = "public" | "token" | "session" | "admin";

type Route = {
  method: "get" | "post" | "patch" | "delete";
  /** As the Hono router has it (`:id`, `:file{.+}`); see `openApiPath`. */
  path: string;
  operationId: string;
  tag: "Auth" | "Sessions" | "Account" | "Admin" | "Service";
  summary: string;
  description?: string;
  access: Access;
  /** A JSON request body; `optional` only for POST /welcome. */
  body?: { schema: SchemaName; optional?: true };
  query?: { schema: z.ZodMiniObject; describe: Record<string, string> };
  params?: Record<string, string>;
  ok: {
    status: 200 | 201 | 204;
    description: string;
    json?: SchemaName;
    /** Non-JSON bodies: media type to example. */
    text?: Partial<Record<"text/plain" | "text/html" | "text/javascript" | "text/css", string>>;
    cacheControl?: string;
  };
  /** Codes this route raises itself; those of its access level, body and D1 use are added. */
  errors?: Code[];
  /** Accepts the refresh cookie instead of a body field (POST /token/refresh). */
  cookie?: true;
  /** False for routes that never touch D1 (and so never answer 503 for it). */
  database?: false;
};

const ROUTES: Route[] = [
  {
    method: "post",
    path: "/register",
    operationId: "register",
    tag: "Auth",
    summary: "Create an account and start a session",
    description:
      'Every field is a string. `email` is trimmed, NFC-normalized and lowercased; names are trimmed, 1 to 100 characters; `password` is 8 to 72 **bytes** of UTF-8 (bcrypt ignores what follows byte 72, so longer passwords are refused, never cut) and not one of the 10,000 most common passwords. Missing, null or blank fields: 400 "All input is required". Unknown fields are ignored. Well-formed requests count against a per-IP limit (429).',
    access: "public",
    body: { schema: "RegisterBody" },
    ok: { status: 201, description: "The new user and its token pair", json: "SignedIn", cacheControl: "no-store" },
    errors: ["user_exists", "rate_limited"],
  },
  {
    method: "post",
    path: "/login",
    operationId: "login",
    tag: "Auth",
    summary: "Log in and start a session",
    description:
      "The email matches whatever its letter case and surrounding spaces. An unknown email, a wrong password and a disabled account get the same answer after the same work. After LOCKOUT_AFTER failures in a row the email is locked for a while (429, even with the right password), and well-formed requests count against a per-IP limit (429).",
    access: "public",
    body: { schema: "LoginBody" },
    ok: { status: 200, description: "The user and a fresh token pair", json: "SignedIn", cacheControl: "no-store" },
    errors: ["invalid_credentials", "rate_limited"],
  },
  {
    method: "get",
    path: "/welcome",
    operationId: "getWelcome",
    tag: "Auth",
    summary: "The tutorial's protected route",
    description:
      "Stateless: verifies the access token without reading D1, so a revoked session's token works here until it expires. The token may also come in `?token=` when the deployment sets ALLOW_QUERY_TOKEN=true.",
    access: "token",
    query: {
      schema: welcomeQuery,
      describe: { token: "An access token; ignored unless ALLOW_QUERY_TOKEN=true (URLs end up in logs)" },
    },
    ok: { status: 200, description: "Welcome", text: { "text/plain": "Welcome to FreeCodeCamp 🙌" } },
    database: false,
  },
  {
    method: "post",
    path: "/welcome",
    operationId: "postWelcome",
    tag: "Auth",
    summary: "The tutorial's protected route, POST",
    description:
      "As GET /welcome; the token may also come in the JSON body field `token`, read only when no header carries one.",
    access: "token",
    body: { schema: "WelcomeBody", optional: true },
    ok: { status: 200, description: "Welcome", text: { "text/plain": "Welcome to FreeCodeCamp 🙌" } },
    database: false,
  },
  {
    method: "post",
    path: "/token/refresh",
    operationId: "refreshToken",
    tag: "Sessions",
    summary: "Trade a refresh token for a new token pair",
    description:
      'Rotation: the refresh token sent is spent. Presenting a spent one again revokes its whole session (reuse detection). Unknown, expired, revoked or reused: 401 invalid_token. Without `refresh_token` in the body the `__Secure-refresh_token` cookie is used and replaced by a new one (never the body, whatever `refresh_transport` says); such a request must be `application/json` from an origin in CORS_ORIGINS (or the PUBLIC_URL origin, or `Sec-Fetch-Site: same-origin`), else 403 forbidden. `refresh_transport: "cookie"` with no cookie: 401 invalid_token.',
    access: "public",
    cookie: true,
    body: { schema: "RefreshBody" },
    ok: { status: 200, description: "A new token pair", json: "TokenPair", cacheControl: "no-store" },
    errors: ["invalid_token", "forbidden", "rate_limited"],
  },
  {
    method: "post",
    path: "/logout",
    operationId: "logout",
    tag: "Sessions",
    summary: "Revoke the current session",
    description: "Also clears the refresh cookie (`Max-Age=0`, Path=/token).",
    access: "session",
    ok: { status: 204, description: "Revoked" },
  },
  {
    method: "post",
    path: "/logout/all",
    operationId: "logoutAll",
    tag: "Sessions",
    summary: "Revoke every session of the user",
    description: "Also clears the refresh cookie (`Max-Age=0`, Path=/token).",
    access: "session",
    ok: { status: 204, description: "All revoked" },
  },
  {
    method: "get",
    path: "/sessions",
    operationId: "listSessions",
    tag: "Sessions",
    summary: "List the user's live sessions",
    access: "session",
    ok: { status: 200, description: "Live sessions only", json: "SessionList" },
  },
  {
    method: "delete",
    path: "/sessions/:id",
    operationId: "revokeSession",
    tag: "Sessions",
    summary: "Revoke one of the user's sessions",
    description: "An id that is not one of the caller's live sessions is 404, never 403: ids cannot be probed.",
    access: "session",
    params: { id: "A session id from GET /sessions" },
    ok: { status: 204, description: "Revoked" },
    errors: ["not_found"],
  },
  {
    method: "get",
    path: "/me",
    operationId: "getMe",
    tag: "Account",
    summary: "The caller's account",
    access: "session",
    ok: { status: 200, description: "The account", json: "Account" },
  },
  {
    method: "patch",
    path: "/me",
    operationId: "updateMe",
    tag: "Account",
    summary: "Change the caller's names",
    description:
      "Register's rules for names. Anything else in the body (email, role, id) is ignored; nothing to change is 400.",
    access: "session",
    body: { schema: "PatchMeBody" },
    ok: { status: 200, description: "The updated account", json: "Account" },
  },
  {
    method: "post",
    path: "/me/password",
    operationId: "changePassword",
    tag: "Account",
    summary: "Change the password",
    description:
      "Revokes every other session and answers a fresh token pair for this one. A wrong current password is 400 invalid_credentials.",
    access: "session",
    body: { schema: "ChangePasswordBody" },
    ok: { status: 200, description: "A fresh token pair", json: "TokenPair", cacheControl: "no-store" },
    errors: ["invalid_credentials"],
  },
  {
    method: "delete",
    path: "/me",
    operationId: "deleteMe",
    tag: "Account",
    summary: "Delete the account",
    description: "The user and all its sessions are gone; the email can register again.",
    access: "session",
    body: { schema: "DeleteMeBody" },
    ok: { status: 204, description: "Deleted" },
    errors: ["invalid_credentials"],
  },
  {
    method: "get",
    path: "/admin/users",
    operationId: "listUsers",
    tag: "Admin",
    summary: "List users in email order",
    access: "admin",
    query: {
      schema: listUsersQuery,
      describe: {
        limit: "Page size, a whole number from 1 to 100 (default 20)",
        cursor: "`next_cursor` of the previous page",
        email: "Only emails starting with this literal prefix (no wildcards)",
      },
    },
    ok: { status: 200, description: "One page", json: "UserPage" },
    errors: ["invalid_input"],
  },
  {
    method: "get",
    path: "/admin/users/:id",
    operationId: "getUser",
    tag: "Admin",
    summary: "One user",
    access: "admin",
    params: { id: "A user id" },
    ok: { status: 200, description: "The account", json: "Account" },
    errors: ["not_found"],
  },
  {
    method: "patch",
    path: "/admin/users/:id",
    operationId: "updateUser",
    tag: "Admin",
    summary: "Change a user's role or disabled flag",
    description:
      "Disabling revokes all the user's sessions. A change that would leave no enabled admin is 409 last_admin.",
    access: "admin",
    params: { id: "A user id" },
    body: { schema: "AccessBody" },
    ok: { status: 200, description: "The updated account", json: "Account" },
    errors: ["not_found", "last_admin"],
  },
  {
    method: "delete",
    path: "/admin/users/:id",
    operationId: "deleteUser",
    tag: "Admin",
    summary: "Delete a user and its sessions",
    description: "Deleting the last enabled admin is 409 last_admin.",
    access: "admin",
    params: { id: "A user id" },
    ok: { status: 204, description: "Deleted" },
    errors: ["not_found", "last_admin"],
  },
  {
    method: "get",
    path: "/health",
    operationId: "getHealth",
    tag: "Service",
    summary: "Health check",
    description: "Answers after a `select 1` on D1.",
    access: "public",
    ok: { status: 200, description: "Up", json: "Health" },
  },
  {
    method: "get",
    path: "/.well-known/jwks.json",
    operationId: "getJwks",
    tag: "Service",
    summary: "Public keys that verify access tokens",
    description: 'Every key of JWT_PRIVATE_KEYS, public half only; `{"keys":[]}` with HS256.',
    access: "public",
    ok: { status: 200, description: "A JWK Set", json: "Jwks", cacheControl: "public, max-age=300" },
    database: false,
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    tag: "Service",
    summary: "This document",
    access: "public",
    ok: { status: 200, description: "OpenAPI 3.1", json: "OpenApiDocument", cacheControl: "no-cache" },
    database: false,
  },
  {
    method: "get",
    path: "/docs",
    operationId: "getDocs",
    tag: "Service",
    summary: "This document, rendered for reading",
    description: "Swagger UI, served from this worker's static assets: no CDN, works offline.",
    access: "public",
    ok: {
      status: 200,
      description: "An HTML page",
      text: { "text/html": "<!doctype html>…" },
      cacheControl: "no-cache",
    },
    database: false,
  },
  {
    method: "get",
    path: "/docs/assets/:file{.+}",
    operationId: "getDocsAsset",
    tag: "Service",
    summary: "The files /docs loads",
    description:
      "`docs.js`, and Swagger UI's `swagger-ui/swagger-ui-bundle.js` and `swagger-ui/swagger-ui.css`, from Workers static assets.",
    access: "public",
    params: { file: "A path under public/docs/assets/" },
    ok: {
      status: 200,
      description: "The file",
      text: { "text/javascript": "window.ui = SwaggerUIBundle(…)", "text/css": ".swagger-ui{…}" },
    },
    errors: ["not_found"],
    database: false,
  },
];

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

const ACCESS_CODES: Record<Access, Code[]> = {
  public: [],
  token: ["token_required", "invalid_token"],
  session: ["token_required", "invalid_token"],
  admin: ["token_required", "invalid_token", "forbidden"],
};
const BODY_CODES: Code[] = ["invalid_input", "invalid_json", "payload_too_large", "unsupported_media_type"];
const ANY_ROUTE_CODES: Code[] = ["internal", "server_misconfigured"];

const DESCRIPTION = `The freeCodeCamp register/login/welcome API, rebuilt as a Hono worker on Cloudflare D1.

**Errors** are JSON, \`{"error":{"code","message"}}\`: branch on \`code\`, show \`message\`. Each operation lists the codes it can answer. \`rate_limited\` (429) and \`service_unavailable\` (503) come with \`Retry-After\`; a method a path does not serve gets 405 \`method_not_allowed\` with \`Allow\`; an unknown path gets 404 \`not_found\`.

**Tokens**: routes marked with a lock take the access token from \`Authorization: Bearer\` or \`x-access-token\`. Account, session and admin routes also check in D1 that the token's session is still live; \`/welcome\` does not.

Every response carries \`X-Request-Id\`. CORS is answered on every route for the origins in CORS_ORIGINS.`;

type Json = Record<string, unknown>;

/** JSON Schema for `schema` as a client sends it (`io: "input"`: before transforms, and
 * with objects left open, since unknown fields are ignored). */
function jsonSchema(schema: z.ZodMiniType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input" });
  return rest;
}

function componentSchemas(): Record<SchemaName, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(SCHEMAS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: "input", uri: (id) => `#/components/schemas/${id}` });
  const out: Record<string, Json> = {};
  // `$id` would be a fragment-only id, which JSON Schema 2020-12 forbids; the key names them.
  for (const [id, { $schema: _, $id: __, ...rest }] of Object.entries(schemas)) out[id] = rest;
  return out as Record<SchemaName, Json>;
}

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** Route codes grouped by status, in a stable order. */
function codesOf(route: Route): Map<number, Code[]> {
  const codes = new Set<Code>([
    ...ACCESS_CODES[route.access],
    ...(route.body ? BODY_CODES : []),
    ...(route.errors ?? []),
    ...(route.database === false ? [] : (["service_unavailable"] as const)),
    ...ANY_ROUTE_CODES,
  ]);
  const byStatus = new Map<number, Code[]>();
  for (const code of ALL_CODES) {
    if (!codes.has(code)) continue;
    const status = ERRORS[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

function errorResponse(status: number, codes: Code[]): Json {
  const headers: Json = {};
  if (status === 429 || status === 503) headers["Retry-After"] = header("RetryAfter");
  if (status === 405) headers.Allow = header("Allow");
  return {
    description: codes.map((code) => `\`${code}\``).join(", "),
    ...(Object.keys(headers).length > 0 && { headers }),
    content: {
      "application/json": {
        schema: ref("Error"),
        examples: Object.fromEntries(
          codes.map((code) => [code, { value: { error: { code, message: ERRORS[code][1] } } }]),
        ),
      },
    },
  };
}

function successResponse({ ok }: Route): Json {
  const response: Json = { description: ok.description };
  if (ok.cacheControl) response.headers = { "Cache-Control": { schema: { type: "string", const: ok.cacheControl } } };
  if (ok.json) response.content = { "application/json": { schema: ref(ok.json) } };
  if (ok.text) {
    const media = Object.entries(ok.text).map(([type, example]) => [type, { schema: { type: "string" }, example }]);
    response.content = Object.fromEntries(media);
  }
  return response;
}

function operation(route: Route): Json {
  const parameters: Json[] = Object.entries(route.params ?? {}).map(([name, description]) => ({
    name,
    in: "path",
    required: true,
    description,
    schema: { type: "string" },
  }));
  if (route.query) {
    const query = jsonSchema(route.query.schema) as { properties: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(query.properties)) {
      const required = query.required?.includes(name) ?? false;
      parameters.push({ name, in: "query", required, description: route.query.describe[name], schema });
    }
  }
  const responses: Json = { [route.ok.status]: successResponse(route) };
  for (const [status, codes] of codesOf(route)) responses[status] = errorResponse(status, codes);
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description && { description: route.description }),
    ...(route.access !== "public" && { security: [{ bearer: [] }, { accessToken: [] }] }),
    // No security (a refresh_token in the body) or the refresh cookie.
    ...(route.cookie && { security: [{}, { refreshCookie: [] }] }),
    ...(parameters.length > 0 && { parameters }),
    ...(route.body && {
      requestBody: {
        required: !route.body.optional,
        content: { "application/json": { schema: ref(route.body.schema) } },
      },
    }),
    responses,
  };
}

function build(): Json {
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  return {
    openapi: "3.1.1",
    info: { title: "edge-auth-api", version, description: DESCRIPTION },
    servers: [{ url: "/" }],
    tags: [
      { name: "Auth", description: "Register, log in, and the tutorial's protected route" },
      { name: "Sessions", description: "Refresh tokens, logout, the user's sessions" },
      { name: "Account", description: "The caller's own account" },
      { name: "Admin", description: "Needs an admin whose session is live" },
      { name: "Service", description: "Health, keys and this reference" },
    ],
    paths,
    components: {
      schemas: componentSchemas(),
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

/** The OpenAPI document, built on first use and kept for the isolate's life; `origin`
 * becomes its server, so clients that import it by URL (Postman) call the same host. */
export function openApiDocument(origin: string): Json {
  document ??= build();
  return { ...document, servers: [{ url: origin }] };
}
