import { type ResourceOptions, resolve } from "./options";

/** An RFC 9728 §2 protected-resource metadata document, with the fields this module fills. */
export type ProtectedResourceMetadata = {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported: ["header"];
  resource_name?: string;
};

/** This resource's metadata document: its identifier, the one authorization server that
 * issues its tokens, the scopes it understands and `bearer_methods_supported: ["header"]`. */
export function protectedResourceMetadata(options: ResourceOptions): ProtectedResourceMetadata {
  const { resource, issuer, scopesSupported, resourceName } = resolve(options);
  return {
    resource,
    authorization_servers: [issuer],
    ...(scopesSupported.length > 0 ? { scopes_supported: scopesSupported } : {}),
    bearer_methods_supported: ["header"],
    ...(resourceName ? { resource_name: resourceName } : {}),
  };
}

const CORS = { "access-control-allow-origin": "*" };

/** Serves the metadata at its path-aware URL (see `metadataUrl`); `undefined` for any other
 * path, so the caller goes on. Public and cacheable, CORS `*` (browser-based clients read it
 * too): GET and HEAD answer the document, OPTIONS a preflight, other methods 405. Only the
 * path (and query) is compared: the same Worker answers on every host it is routed to. */
export function metadataResponse(request: Request, options: ResourceOptions): Response | undefined {
  const { metadataUrl } = resolve(options);
  const url = new URL(request.url);
  if (url.pathname !== metadataUrl.pathname || url.search !== metadataUrl.search) return undefined;
  if (request.method === "OPTIONS") {
    return new Response(null, {
      status: 204,
      headers: {
        ...CORS,
        "access-control-allow-methods": "GET, HEAD, OPTIONS",
        "access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "*",
        "access-control-max-age": "86400",
      },
    });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(null, { status: 405, headers: { ...CORS, allow: "GET, HEAD, OPTIONS" } });
  }
  const body = request.method === "HEAD" ? null : JSON.stringify(protectedResourceMetadata(options));
  return new Response(body, {
    headers: { ...CORS, "content-type": "application/json", "cache-control": "public, max-age=300" },
  });
}
