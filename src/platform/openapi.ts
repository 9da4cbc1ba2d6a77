import type { Hono, MiddlewareHandler } from "hono";
import { findTargetHandler } from "hono/utils/handler";
import * as z from "zod/mini";
import { version } from "../../package.json";
import { AUDIT_EVENT_TYPES } from "../identity/audit";
import { ERRORS, type ErrorCode } from "./errors";
import { ROLES } from "./schema";

// The OpenAPI 3.1 document served at /openapi.json. Each route describes itself where
// it is defined: `describe(...)` is the first middleware of the route, and its validator
// (`jsonBody`, `queryParams`) carries the very zod schema it validates with. `build`
// collects both from the app's routes, the way hono-openapi's `describeRoute` does (that
// library itself would add ~75 KiB gzip: its JSON Schema layer dynamically imports all of
// `zod/v4/core`, locales included). This file is the frame: info, security schemes, the
// error envelope, and the one place error codes become responses with examples.
// zod/mini, like the routes: the classic API would double the bundle.

const byStatus = (a: ErrorCode, b: ErrorCode) => ERRORS[a][0] - ERRORS[b][0];
/** Every error code, by status, then in src/platform/errors.ts order. */
const ALL_CODES = (Object.keys(ERRORS) as ErrorCode[]).sort(byStatus) as [ErrorCode, ...ErrorCode[]];

/** `schema` with a description (and other JSON Schema keywords) in the document. */
export function doc<T extends z.ZodMiniType>(schema: T, meta: string | Record<string, unknown>): T {
  return schema.check(typeof meta === "string" ? z.describe(meta) : z.meta(meta));
}

/** Every named schema: request and response bodies, each under components/schemas. */
const COMPONENTS = z.registry<{ id: string }>();

/** `schema` as a named component: the document refers to it as `#/components/schemas/<name>`.
 * Every JSON body a route documents must be named. */
export function named<T extends z.ZodMiniType>(name: string, schema: T): T {
  COMPONENTS.add(schema, { id: name });
  return schema;
}

// Response bodies more than one router answers, as src/identity/queries/users.ts and src/identity/sessions.ts build them.
export const timestamp = () => doc(z.string(), { format: "date-time", examples: ["2026-11-26T15:22:09.225Z"] });
export const uuid = (description: string) =>
  doc(z.string(), { format: "uuid", description, examples: ["0b6f0a8e-3f4b-4c55-9f7e-5f3c7b1d2a90"] });

export const userShape = {
  id: uuid("The user id"),
  first_name: z.string(),
  last_name: z.string(),
  email: doc(z.string(), {
    format: "email",
    description: "Trimmed, NFC-normalized, lowercase; an internationalized domain in its ASCII form",
  }),
};

export const tokenPairShape = {
  token: doc(z.string(), "Access token: a JWT signed with JWT_ALG, valid for TOKEN_TTL"),
  refresh_token: z.optional(
    doc(
      z.string(),
      'Opaque, single-use: trade it at POST /token/refresh before REFRESH_TTL. Absent with `refresh_transport: "cookie"`: it is then in the HttpOnly `__Secure-refresh_token` cookie (Path=/token)',
    ),
  ),
  expires_in: doc(z.int().check(z.positive()), "Lifetime of `token` in seconds"),
};

export const tokenPair = named("TokenPair", z.object(tokenPairShape));

/** What register and every kind of login answer (src/identity/sign-in.ts `signedIn`). */
export const signedInJson = named("SignedIn", z.object({ ...userShape, ...tokenPairShape, created_at: timestamp() }));

/** A passkey as GET /me/passkeys lists it (src/identity/queries/passkeys.ts `passkeyJson`). */
export const passkeySchema = named(
  "Passkey",
  z.object({
    id: uuid("The passkey id, for PATCH and DELETE /me/passkeys/{id}"),
    name: z.string(),
    created_at: timestamp(),
    last_used_at: z.nullable(timestamp()),
    device_type: doc(z.enum(["singleDevice", "multiDevice"]), "multiDevice: a synced passkey"),
    backed_up: z.boolean(),
    transports: z.array(z.string()),
  }),
);

export const passkeyList = named("PasskeyList", z.object({ passkeys: z.array(passkeySchema) }));

/** WebAuthn options, passed through from @simplewebauthn/server. */
const webauthnOptions = (what: string) =>
  doc(
    z.record(z.string(), z.unknown()),
    `${what}, as @simplewebauthn/browser and PublicKeyCredential.parseXOptionsFromJSON take them`,
  );

export const registrationOptionsJson = named(
  "RegistrationOptions",
  webauthnOptions("PublicKeyCredentialCreationOptionsJSON"),
);
export const authenticationOptionsJson = named(
  "AuthenticationOptions",
  z.object({ options: webauthnOptions("PublicKeyCredentialRequestOptionsJSON") }),
);
export const passkeyLoginOptions = named(
  "PasskeyLoginOptions",
  z.object({
    options: webauthnOptions("PublicKeyCredentialRequestOptionsJSON"),
    challenge_id: doc(z.string(), "Send back with the response to POST /login/passkey"),
  }),
);

export const totpEnrolment = named(
  "TotpEnrolment",
  z.object({
    secret: doc(z.string(), "160 bits, base32: for typing into an authenticator app"),
    otpauth_uri: doc(z.string(), "otpauth://totp/APP_NAME:email?issuer=…&secret=…&algorithm=SHA1&digits=6&period=30"),
    qr_svg: doc(z.string(), "An SVG document: the QR code of otpauth_uri"),
  }),
);

export const recoveryCodes = named(
  "RecoveryCodes",
  z.object({ recovery_codes: doc(z.array(z.string()), "Ten single-use codes such as 7KQ2-M9XD-4TNB, shown once") }),
);

/** The answer of a route that mails a link, the same whatever the outcome. */
export const accepted = named(
  "Accepted",
  z.object({ message: doc(z.string(), "For people; the same whatever the outcome") }),
);

/** One security event as its user sees it (GET /me/activity). */
const activity = z.object({
  id: uuid("The event id"),
  type: z.enum(AUDIT_EVENT_TYPES),
  time: timestamp(),
  ip: doc(z.nullable(z.string()), "From CF-Connecting-IP only; null under wrangler dev"),
  user_agent: doc(z.nullable(z.string()), "At most 256 characters"),
  actor: doc(z.enum(["user", "admin", "system"]), "Who did it: the user, an admin, or the system"),
});

const nextCursor = () => doc(z.nullable(z.string()), "Pass back as `cursor` for the next page; null on the last");

export const activityPage = named("ActivityPage", z.object({ events: z.array(activity), next_cursor: nextCursor() }));

/** One security event as an admin sees it (GET /admin/audit). */
const auditEventJson = z.object({
  ...activity.shape,
  user_id: doc(z.nullable(z.string()), "The account the event is about (it may since have been deleted)"),
  actor_id: doc(z.nullable(z.string()), "The acting user's or admin's id; null for the system"),
  request_id: z.nullable(z.string()),
  details: doc(
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    "A few facts (reason, seconds, role, session_id, credential...); never a password, hash, token, code, secret or link",
  ),
});

export const auditPage = named("AuditPage", z.object({ events: z.array(auditEventJson), next_cursor: nextCursor() }));

export const account = named(
  "Account",
  z.object({
    ...userShape,
    created_at: timestamp(),
    role: z.enum(ROLES),
    disabled: doc(z.boolean(), "A disabled user cannot log in or refresh"),
    email_verified: doc(z.boolean(), "Whether the owner proved the address with a mailed link"),
    updated_at: timestamp(),
  }),
);

/** The enrolled second factors of an account (src/identity/queries/factors.ts `summary`). */
const factors = doc(
  z.object({
    totp: doc(z.boolean(), "TOTP is confirmed and required at login"),
    passkeys: doc(z.int().check(z.nonnegative()), "Registered passkeys"),
    recovery_codes: doc(z.int().check(z.nonnegative()), "Unused recovery codes"),
  }),
  "The enrolled second factors; never their secrets",
);

export const accountWithFactors = named("AccountWithFactors", z.object({ ...account.shape, mfa: factors }));

/** The JSON error envelope; each response lists its own codes, with an example of each. */
const errorEnvelope = z.object({
  error: z.object({ code: z.enum(ALL_CODES), message: doc(z.string(), "For people; branch on `code`") }),
});

/** Who may call a route: anyone, any valid access token (no D1 read), a token whose
 * session is live in D1, or such a session of an admin. */
export type Access = "public" | "token" | "session" | "admin";

const ACCESS_CODES: Record<Access, ErrorCode[]> = {
  public: [],
  token: ["token_required", "invalid_token"],
  session: ["token_required", "invalid_token"],
  admin: ["token_required", "invalid_token", "forbidden"],
};
/** Answered by any route with a request body, before its validator runs (src/platform/http/json-body.ts, body-limit.ts). */
const BODY_CODES: ErrorCode[] = ["invalid_json", "payload_too_large", "unsupported_media_type"];
/** Answered by any route: a misconfigured deployment, a bug. */
const ANY_ROUTE_CODES: ErrorCode[] = ["internal", "server_misconfigured"];

/** Marks `describe`'s middleware with its route's documentation, and validators with their schema. */
const DOC = Symbol("openapi.route");
const INPUT = Symbol("openapi.input");
type Input = { target: "json" | "query"; schema: z.ZodMiniType };

type MediaExamples = Partial<Record<"text/plain" | "text/html" | "text/javascript" | "text/css", string>>;

/** A route's documentation, written beside its handler. */
export type RouteDoc = {
  operationId: string;
  tag: "Auth" | "Sessions" | "Account" | "Email" | "Second factors" | "Admin" | "Service";
  summary: string;
  description?: string;
  access: Access;
  /** Path parameters, name to description. */
  params?: Record<string, string>;
  /** Query parameters no validator reads (a validator documents its own), name to description. */
  query?: Record<string, string>;
  /** A JSON body read without `jsonBody` (which documents its own), and not required. */
  optionalBody?: z.ZodMiniType;
  ok: {
    status: 200 | 201 | 202 | 204;
    description: string;
    json?: z.ZodMiniType;
    /** Non-JSON bodies: media type to example. */
    text?: MediaExamples;
    cacheControl?: string;
  };
  /** A second success answer (POST /email/verify/resend when already verified). */
  alsoOk?: { status: 200; description: string; json: z.ZodMiniType };
  /** Codes the route's own checks answer, `invalid_input` from its validator among them.
   * Those of its access level, of having a body, of D1 and of any route are added. */
  errors?: ErrorCode[];
  /** Accepts the refresh cookie instead of a body field (POST /token/refresh). */
  cookie?: true;
  /** False for routes that never touch D1 (and so never answer 503 for it). */
  database?: false;
};

/** The route's OpenAPI description, as a (no-op) middleware placed first in the route,
 * as hono-openapi's `describeRoute` is. test/openapi.test.ts checks that every route has
 * one, and `npm test` that the codes it lists are the codes the route answers in tests. */
export function describe(route: RouteDoc): MiddlewareHandler {
  const middleware: MiddlewareHandler = (_c, next) => next();
  return Object.assign(middleware, { [DOC]: route });
}

/** Marks `middleware` as the validator of the route's JSON body or query, so the document
 * shows `schema` there (src/platform/http/json-body.ts). */
export function documentInput<M extends MiddlewareHandler>(
  target: Input["target"],
  schema: z.ZodMiniType,
  middleware: M,
): M {
  return Object.assign(middleware, { [INPUT]: { target, schema } satisfies Input });
}

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
    : route.optionalBody && { required: false, content: { "application/json": { schema: ref(route.optionalBody) } } };

  const success: Json = { description: ok.description };
  if (ok.cacheControl) success.headers = { "Cache-Control": { schema: { type: "string", const: ok.cacheControl } } };
  if (ok.json) success.content = { "application/json": { schema: ref(ok.json) } };
  if (ok.text) {
    const media = Object.entries(ok.text).map(([type, example]) => [type, { schema: { type: "string" }, example }]);
    success.content = Object.fromEntries(media);
  }
  const listed = new Set<ErrorCode>([
    ...ACCESS_CODES[route.access],
    ...(requestBody ? BODY_CODES : []),
    ...(route.errors ?? []),
    ...(route.database === false ? [] : (["service_unavailable"] as const)),
    ...ANY_ROUTE_CODES,
  ]);
  const responses: Json = { [ok.status]: success };
  if (route.alsoOk) {
    const { status, description, json } = route.alsoOk;
    responses[status] = { description, content: { "application/json": { schema: ref(json) } } };
  }
  for (const status of new Set(ALL_CODES.map((code) => ERRORS[code][0]))) {
    const codes = ALL_CODES.filter((code) => listed.has(code) && ERRORS[code][0] === status);
    if (codes.length > 0) responses[status] = errorResponse(status, codes);
  }
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description && { description: route.description }),
    ...(route.access !== "public" && { security: [{ bearer: [] }, { accessToken: [] }] }),
    // No security (a refresh_token in the body) or the refresh cookie.
    ...(route.cookie && { security: [{}, { refreshCookie: [] }] }),
    ...(parameters.length > 0 && { parameters }),
    ...(requestBody && { requestBody }),
    responses,
  };
}

/** The routes to document: a Hono app, of which only `routes` is read. */
type Routes = { routes: Hono["routes"] };

function build(app: Routes): Json {
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
    ],
    paths,
    components: {
      schemas: { ...componentSchemas(), Error: jsonSchema(errorEnvelope) },
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
