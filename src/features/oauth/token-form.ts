import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { mediaType } from "../../platform/http/json-body";
import { OAuthError } from "./errors";

// What the provider's JSON endpoints share at the HTTP edge: off means 404, bodies are
// form-encoded (RFC 6749 §3.2), each parameter once.

const FORM = "application/x-www-form-urlencoded";
const utf8 = new TextDecoder();

/** 404 (in the RFC shape under /oauth/, the API's `not_found` for the discovery
 * documents) while `OAUTH_PROVIDER` is off. */
export const providerOn: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.config.oauth.enabled) throw new ApiError("not_found", "Not Found: the OAuth provider is off");
  await next();
};

/**
 * The form body as name to value. A parameter sent without a value is left out, as if
 * omitted (RFC 6749 §3.1: `scope=` on a refresh keeps the grant's scope). `invalid_request`
 * for another media type (a JSON body among them) or a parameter sent twice (RFC 6749
 * §3.2); a repeated `resource` is `invalid_target` (RFC 8707 §2: one resource per token here).
 */
export async function readForm(c: Context): Promise<Record<string, string>> {
  if (mediaType(c) !== FORM) throw new OAuthError("invalid_request", `The body must be ${FORM}`);
  // Read as bytes and decoded here: the runtime's `text()` cost a token request 0.2 ms of
  // CPU in the bench (`npm run bench -- --profile oauth-refresh`), about a quarter of it.
  const params = new URLSearchParams(utf8.decode(await c.req.arrayBuffer()));
  const form: Record<string, string> = {};
  for (const [name, value] of params) {
    if (value === "") continue;
    if (Object.hasOwn(form, name)) {
      throw new OAuthError(
        name === "resource" ? "invalid_target" : "invalid_request",
        `${name} is sent more than once`,
      );
    }
    form[name] = value;
  }
  return form;
}

/** The `Authorization` header, when sent. */
export function authorizationOf(c: Context): string | undefined {
  return c.req.header("authorization");
}

/** Answers `body` as RFC 6749 §5.1 says a token answer goes: never cached. */
export function noStore(c: Context): void {
  c.header("Cache-Control", "no-store");
  c.header("Pragma", "no-cache");
}
