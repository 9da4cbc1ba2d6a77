import type { MiddlewareHandler } from "hono";
import * as z from "zod/mini";
import type { ErrorCode } from "../errors";

// How a route describes itself where it is defined: `describe(...)` is the first
// middleware of the route, and its validator (`jsonBody`, `queryParams`) carries the very
// zod schema it validates with (`documentInput`). document.ts collects both into the
// OpenAPI document. zod/mini, like the routes: the classic API would double the bundle.

/** `schema` with a description (and other JSON Schema keywords) in the document. */
export function doc<T extends z.ZodMiniType>(schema: T, meta: string | Record<string, unknown>): T {
  return schema.check(typeof meta === "string" ? z.describe(meta) : z.meta(meta));
}

/** Every named schema: request and response bodies, each under components/schemas. */
export const COMPONENTS = z.registry<{ id: string }>();

/** `schema` as a named component: the document refers to it as `#/components/schemas/<name>`.
 * Every JSON body a route documents must be named. */
export function named<T extends z.ZodMiniType>(name: string, schema: T): T {
  COMPONENTS.add(schema, { id: name });
  return schema;
}

/** Schema helpers for response bodies. */
export const timestamp = () => doc(z.string(), { format: "date-time", examples: ["2026-11-26T15:22:09.225Z"] });
export const uuid = (description: string) =>
  doc(z.string(), { format: "uuid", description, examples: ["0b6f0a8e-3f4b-4c55-9f7e-5f3c7b1d2a90"] });

/** Who may call a route: anyone, any valid access token (no D1 read), a token whose
 * session is live in D1, or such a session of an admin. */
export type Access = "public" | "token" | "session" | "admin";

/** Marks `describe`'s middleware with its route's documentation, and validators with their schema. */
export const DOC = Symbol("openapi.route");
export const INPUT = Symbol("openapi.input");
export type Input = { target: "json" | "query"; schema: z.ZodMiniType };

type MediaExamples = Partial<Record<"text/plain" | "text/html" | "text/javascript" | "text/css", string>>;

/** A route's documentation, written beside its handler. */
export type RouteDoc = {
  operationId: string;
  tag: "Auth" | "Sessions" | "Account" | "Email" | "Second factors" | "Admin" | "Service" | "OAuth";
  summary: string;
  description?: string;
  access: Access;
  /** Path parameters, name to description. */
  params?: Record<string, string>;
  /** Query parameters no validator reads (a validator documents its own), name to description. */
  query?: Record<string, string>;
  /** A JSON body read without `jsonBody` (which documents its own), and not required. */
  optionalBody?: z.ZodMiniType;
  /** An `application/x-www-form-urlencoded` body (an HTML form's POST), read by the handler. */
  form?: z.ZodMiniType;
  ok: {
    /** 302: a browser navigation answered with a redirect (`Location`). */
    status: 200 | 201 | 202 | 204 | 302;
    /** A redirect's `Location`, described. */
    location?: string;
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
  /** The OAuth provider's endpoints answer errors in the RFC shape `{error, error_description}`
   * (RFC 6749 §5.2, RFC 6750 §3, RFC 7009, RFC 7591 §3.2.2, RFC 7662) instead of the API's
   * envelope: their error codes by status, every one the route answers (nothing is added to these). */
  oauthErrors?: Partial<Record<400 | 401 | 403 | 404 | 405 | 413 | 429 | 500 | 503, readonly string[]>>;
  /** An OAuth endpoint's required JSON body, read by the handler itself (its bad bodies are
   * `oauthErrors`, not the envelope's body codes). */
  oauthBody?: z.ZodMiniType;
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
