import type { Hono, MiddlewareHandler } from "hono";
import {
  type DescribeRouteOptions,
  describeRoute,
  type GenerateSpecOptions,
  generateSpecs,
  resolver,
} from "hono-openapi";
import * as z from "zod/mini";
import { version } from "../package.json";
import { ERRORS, type ErrorCode } from "./errors";

// The OpenAPI 3.1 document served at /openapi.json. Each route describes itself where
// it is defined (`describe(...)` beside its handler, request bodies and queries through
// the very zod schemas its validator uses); hono-openapi collects them from the app's
// routes. This file is the frame: info, security schemes, the error envelope, and the
// one place error codes become responses with examples.
// zod/mini, like the routes: the classic API would double the bundle.

const byStatus = (a: ErrorCode, b: ErrorCode) => ERRORS[a][0] - ERRORS[b][0];
/** Every error code, by status, then in src/errors.ts order. */
const ALL_CODES = (Object.keys(ERRORS) as ErrorCode[]).sort(byStatus) as [ErrorCode, ...ErrorCode[]];

/** `schema` with a description (and other JSON Schema keywords) in the document. */
export function doc<T extends z.ZodMiniType>(schema: T, meta: string | Record<string, unknown>): T {
  return schema.check(typeof meta === "string" ? z.describe(meta) : z.meta(meta));
}

/** `schema` as a named component: the document refers to it as `#/components/schemas/<name>`. */
export const named = <T extends z.ZodMiniType>(name: string, schema: T): T => doc(schema, { ref: name });

// Response bodies more than one router answers, as src/db/users.ts and src/auth/sessions.ts build them.
export const timestamp = () => doc(z.string(), { format: "date-time", examples: ["2026-11-26T15:22:09.225Z"] });
export const uuid = (description: string) =>
  doc(z.string(), { format: "uuid", description, examples: ["0b6f0a8e-3f4b-4c55-9f7e-5f3c7b1d2a90"] });

export const userShape = {
  id: uuid("The user id"),
  first_name: z.string(),
  last_name: z.string(),
  email: doc(z.string(), { format: "email", description: "Trimmed, NFC-normalized, lowercase" }),
};

export const tokenPairShape = {
  token: doc(z.string(), "Access token: a JWT signed with JWT_ALG, valid for TOKEN_TTL"),
  refresh_token: doc(z.string(), "Opaque, single-use: trade it at POST /token/refresh before REFRESH_TTL"),
  expires_in: doc(z.int().check(z.positive()), "Lifetime of `token` in seconds"),
};

export const tokenPair = named("TokenPair", z.object(tokenPairShape));

export const account = named(
  "Account",
  z.object({
    ...userShape,
    created_at: timestamp(),
    role: z.enum(["user", "admin"]),
    disabled: doc(z.boolean(), "A disabled user cannot log in or refresh"),
    updated_at: timestamp(),
  }),
);

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
/** Answered by any route with a request body, before its validator runs (src/middleware/json-body.ts, body-limit.ts). */
const BODY_CODES: ErrorCode[] = ["invalid_json", "payload_too_large", "unsupported_media_type"];
/** Answered by any route: a misconfigured deployment, a bug. */
const ANY_ROUTE_CODES: ErrorCode[] = ["internal", "server_misconfigured"];

/** Where `describe` leaves a route's codes for `build` to turn into responses. */
const CODES = "x-error-codes";

type MediaExamples = Partial<Record<"text/plain" | "text/html" | "text/javascript" | "text/css", string>>;

/** A route's documentation, written beside its handler. */
export type RouteDoc = {
  operationId: string;
  tag: "Auth" | "Sessions" | "Account" | "Admin" | "Service";
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
    status: 200 | 201 | 204;
    description: string;
    json?: z.ZodMiniType;
    /** Non-JSON bodies: media type to example. */
    text?: MediaExamples;
    cacheControl?: string;
  };
  /** Codes the route's own checks answer, `invalid_input` from its validator among them.
   * Those of its access level, of having a body, of D1 and of any route are added. */
  errors?: ErrorCode[];
  /** False for routes that never touch D1 (and so never answer 503 for it). */
  database?: false;
};

/** The route's OpenAPI description, as a middleware placed first in the route. Test
 * test/openapi.test.ts checks that every route has one and that the codes it lists are
 * the codes the route answers in the test suite. */
export function describe(route: RouteDoc): MiddlewareHandler {
  const { ok } = route;
  const parameters = [
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
  const response: Json = { description: ok.description };
  if (ok.cacheControl) response.headers = { "Cache-Control": { schema: { type: "string", const: ok.cacheControl } } };
  if (ok.json) response.content = { "application/json": { schema: resolver(ok.json) } };
  if (ok.text) {
    const media = Object.entries(ok.text).map(([type, example]) => [type, { schema: { type: "string" }, example }]);
    response.content = Object.fromEntries(media);
  }
  const codes = [
    ...ACCESS_CODES[route.access],
    ...(route.errors ?? []),
    ...(route.database === false ? [] : (["service_unavailable"] as const)),
    ...ANY_ROUTE_CODES,
  ];
  return describeRoute({
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description && { description: route.description }),
    ...(route.access !== "public" && { security: [{ bearer: [] }, { accessToken: [] }] }),
    ...(parameters.length > 0 && { parameters }),
    ...(route.optionalBody && {
      requestBody: { required: false, content: { "application/json": { schema: resolver(route.optionalBody) } } },
    }),
    responses: { [ok.status]: response },
    [CODES]: codes,
  } as unknown as DescribeRouteOptions);
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

/** Adds to `operation` one response per status among its codes, each code an example. */
function addErrorResponses(operation: Json): void {
  const listed = new Set<ErrorCode>([...((operation[CODES] as ErrorCode[]) ?? [])]);
  delete operation[CODES];
  if (operation.requestBody) for (const code of BODY_CODES) listed.add(code);
  const responses = operation.responses as Json;
  for (const status of new Set(ALL_CODES.map((code) => ERRORS[code][0]))) {
    const codes = ALL_CODES.filter((code) => listed.has(code) && ERRORS[code][0] === status);
    if (codes.length > 0) responses[status] = errorResponse(status, codes);
  }
}

/** The routes to document: a Hono app, of which only `routes` is read. */
type Routes = { routes: Hono["routes"] };

async function build(app: Routes): Promise<Json> {
  const { $schema: _, ...error } = z.toJSONSchema(errorEnvelope, { io: "input" });
  const document = (await generateSpecs(app as Hono, {
    documentation: {
      openapi: "3.1.1",
      info: { title: "edge-auth-api", version, description: DESCRIPTION },
      tags: [
        { name: "Auth", description: "Register, log in, and the tutorial's protected route" },
        { name: "Sessions", description: "Refresh tokens, logout, the user's sessions" },
        { name: "Account", description: "The caller's own account" },
        { name: "Admin", description: "Needs an admin whose session is live" },
        { name: "Service", description: "Health, keys and this reference" },
      ],
      components: {
        schemas: { Error: error as Json },
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
    } as unknown as GenerateSpecOptions["documentation"],
    // /openapi.json and /.well-known/jwks.json are routes, not static files.
    excludeStaticFile: false,
    // Our validators answer our envelope, listed per route; never the library's shape.
    defaultValidationErrorResponse: false,
  })) as unknown as Json & { paths: Record<string, Record<string, Json>> };
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations)) addErrorResponses(operation);
  }
  return document;
}

/** A Hono route path in OpenAPI's syntax: `/sessions/:id` is `/sessions/{id}`, and a
 * parameter's pattern (`:file{.+}`) is dropped. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");
}

let document: Promise<Json> | undefined;

/** The OpenAPI document of `app`'s routes, built on first use and kept for the isolate's
 * life; `origin` becomes its server, so clients that import it by URL (Postman) call the
 * same host. */
export async function openApiDocument(app: Routes, origin: string): Promise<Json> {
  document ??= build(app).catch((err) => {
    document = undefined;
    throw err;
  });
  return { ...(await document), servers: [{ url: origin }] };
}
