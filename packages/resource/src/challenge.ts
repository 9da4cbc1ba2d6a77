import { type ResourceOptions, resolve } from "./options";
import type { AccessTokenError } from "./verify";

/** The parameters of a Bearer challenge. */
export type ChallengeParams = {
  realm?: string;
  /** RFC 6750 §3.1 error code; leave it out when the request carried no token (§3.1). */
  error?: string;
  errorDescription?: string;
  /** The scopes the request needs (with `insufficient_scope`). */
  scope?: readonly string[];
  /** RFC 9728 §5.1: where the resource's metadata is. */
  resourceMetadata?: string | URL;
};

/** A `WWW-Authenticate` value: `Bearer` and the given parameters as RFC 6750 §3 and RFC 9728
 * §5.1 write them (quoted strings; characters RFC 6750 does not allow in `error_description`
 * are dropped), e.g. `Bearer error="invalid_token", error_description="The access token
 * expired.", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`. */
export function challenge(params: ChallengeParams): string {
  const parts: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "") parts.push(`${name}="${value}"`);
  };
  add("realm", params.realm && quotable(params.realm));
  add("error", params.error && quotable(params.error));
  add("error_description", params.errorDescription && quotable(params.errorDescription));
  add("scope", params.scope && quotable(params.scope.join(" ")));
  add("resource_metadata", params.resourceMetadata && quotable(String(params.resourceMetadata)));
  return parts.length > 0 ? `Bearer ${parts.join(", ")}` : "Bearer";
}

/** RFC 6750 §3 allows %x20-21 / %x23-5B / %x5D-7E inside its quoted values: no `"`, no `\`,
 * nothing outside printable ASCII. */
function quotable(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "");
}

/** The answer to a refused request: its status, a `WWW-Authenticate` challenge pointing at
 * the resource's metadata (401 and 403), `Cache-Control: no-store` and a small JSON body
 * `{error, error_description}` (`error` is `unauthorized` when no token was sent: RFC 6750
 * puts no error code in that challenge). A 503 (key set unavailable) has `Retry-After`. */
export function errorResponse(err: AccessTokenError, options: ResourceOptions): Response {
  const headers = new Headers({ "content-type": "application/json", "cache-control": "no-store" });
  if (err.status === 503) {
    headers.set("retry-after", "10");
  } else {
    headers.set(
      "www-authenticate",
      challenge({
        error: err.error,
        errorDescription: err.error ? err.message : undefined,
        scope: err.scope,
        resourceMetadata: resolve(options).metadataUrl,
      }),
    );
  }
  const body = { error: err.error ?? "unauthorized", error_description: err.message };
  return new Response(JSON.stringify(body), { status: err.status, headers });
}
