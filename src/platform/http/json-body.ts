import type { Context, MiddlewareHandler } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { REQUIRED } from "../fields";
import { documentInput } from "../openapi/describe";

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The request's media type (`Content-Type` without parameters), lowercase; undefined
 * without one. */
export function mediaType(c: Context): string | undefined {
  return c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
}

/** The body as a JSON object, or `undefined` when the request has none.
 * Only JSON is accepted: form and text bodies skip CORS preflight, so taking
 * them would let any site post logins cross-origin. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown> | undefined> {
  const type = mediaType(c);
  const bytes = await c.req.arrayBuffer();
  if (bytes.byteLength === 0 && (type === undefined || JSON_TYPE.test(type))) return undefined;
  if (type === undefined || !JSON_TYPE.test(type)) throw new ApiError("unsupported_media_type");
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new ApiError("invalid_json", "Request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ApiError("invalid_json");
  return value as Record<string, unknown>;
}

/** Validates a required JSON object body with `schema`; handlers read it via `c.req.valid("json")`.
 * A missing field wins over every other complaint, as in the tutorial. The route's
 * OpenAPI request body is `schema` (src/platform/openapi.ts reads it from the middleware). */
export function jsonBody<S extends z.ZodMiniType>(
  schema: S,
): MiddlewareHandler<AppEnv, string, { in: { json: z.input<S> }; out: { json: z.output<S> } }> {
  return documentInput("json", schema, async (c, next) => {
    const body = await readJsonObject(c);
    if (body === undefined) throw new ApiError("invalid_json");
    c.req.addValidatedData("json", parsed(schema, body, body) as object);
    await next();
  });
}

/** Validates the query string with `schema` (an object of optional strings); handlers read
 * it via `c.req.valid("query")`. Documented as the route's query parameters. */
export function queryParams<S extends z.ZodMiniType>(
  schema: S,
): MiddlewareHandler<AppEnv, string, { in: { query: z.input<S> }; out: { query: z.output<S> } }> {
  return documentInput("query", schema, async (c, next) => {
    c.req.addValidatedData("query", parsed(schema, c.req.query()) as object);
    await next();
  });
}

/** `value` through `schema`; a failure is 400 `invalid_input` with the first missing
 * field's message (naming a respelled field of a JSON `body`), or else the first issue's. */
function parsed<S extends z.ZodMiniType>(schema: S, value: unknown, body?: Record<string, unknown>): z.output<S> {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  const { issues } = result.error;
  const missing = issues.find((issue) => issue.message === REQUIRED);
  if (missing && body) throw new ApiError("invalid_input", respelled(missing.path, body));
  throw new ApiError("invalid_input", (missing ?? issues[0])?.message);
}

/** The message for a missing field. When the body has that field under another
 * spelling (`first_name` copied from a response, `FirstName`), it names both; otherwise
 * it is the tutorial's "All input is required", which its clients match on. */
export function respelled(path: readonly PropertyKey[], body: Record<string, unknown>): string {
  const [field] = path;
  if (typeof field !== "string" || path.length !== 1) return REQUIRED;
  const key = (name: string) => name.replace(/[-_\s]/g, "").toLowerCase();
  const sent = Object.keys(body).find((name) => name !== field && key(name) === key(field));
  return sent === undefined ? REQUIRED : `${REQUIRED}: ${field} is missing (send ${field}, not ${sent})`;
}
