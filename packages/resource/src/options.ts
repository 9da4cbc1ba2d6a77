/** Signing algorithms the authorization server may use (its `JWT_ALG`, minus HS256: a
 * shared secret is never how another Worker checks its tokens). */
export const ALGORITHMS = ["ES256", "EdDSA", "RS256"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** How a protected resource checks the access tokens of one authorization server. */
export type ResourceOptions = {
  /** The authorization server's issuer: its `PUBLIC_URL`. A trailing slash is dropped, as the
   * server does before writing it into `iss`; otherwise compared exactly. */
  issuer: string;
  /** This resource's identifier (RFC 8707, RFC 9728), e.g. `https://mcp.example.com/mcp`. A
   * token's `aud` must hold exactly this string (a trailing slash counts). */
  resource: string;
  /** Scopes a token must all carry; none by default. Set per route. */
  scopes?: readonly string[];
  /** More scopes to list in the metadata's `scopes_supported`, besides `scopes`. */
  scopesSupported?: readonly string[];
  /** The issuer's key set; `<issuer>/.well-known/jwks.json` by default. */
  jwksUrl?: string;
  /** Accepted signing algorithms; all of `ALGORITHMS` by default. Pin the server's `JWT_ALG`. */
  algorithms?: readonly Algorithm[];
  /** Seconds of clock difference tolerated on `exp` and `nbf`: 0 to 60, 30 by default. */
  clockSkew?: number;
  /** Seconds after a key-set fetch during which a token naming an unknown `kid` is refused
   * without fetching again: 0 to 300, 30 by default. After that such a token makes one
   * refetch, so a key the server starts signing with is picked up. */
  jwksCooldown?: number;
  /** `resource_name` in the metadata: a name people can read. */
  resourceName?: string;
};

/** `ResourceOptions` checked once, with every default filled in. */
export type Resolved = {
  issuer: string;
  resource: string;
  scopes: string[];
  scopesSupported: string[];
  jwksUrl: URL;
  algorithms: Algorithm[];
  clockSkew: number;
  jwksCooldown: number;
  resourceName?: string;
  /** Where this resource's RFC 9728 metadata is served. */
  metadataUrl: URL;
};

/** The well-known path of RFC 9728 §3. */
export const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** RFC 6749 §3.3 `scope-token`: printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const resolved = new WeakMap<ResourceOptions, Resolved>();

/** `options` checked and completed; the same object gives the same answer without
 * checking again. A bad option is a programming error: it throws a `TypeError`. */
export function resolve(options: ResourceOptions): Resolved {
  let done = resolved.get(options);
  if (!done) {
    done = check(options);
    resolved.set(options, done);
  }
  return done;
}

function check(options: ResourceOptions): Resolved {
  const issuer = options.issuer.replace(/\/+$/, "");
  const issuerUrl = httpUrl(issuer, "issuer");
  if (issuerUrl.search || issuerUrl.hash) throw new TypeError("issuer must have no query or fragment");
  const resource = options.resource;
  const resourceUrl = httpUrl(resource, "resource");
  if (resourceUrl.hash || resource.includes("#")) throw new TypeError("resource must have no fragment (RFC 8707)");
  const scopes = [...(options.scopes ?? [])];
  const scopesSupported = [...new Set([...scopes, ...(options.scopesSupported ?? [])])];
  for (const scope of scopesSupported) {
    if (!SCOPE_TOKEN.test(scope)) throw new TypeError(`scope ${JSON.stringify(scope)} is not an RFC 6749 scope token`);
  }
  const algorithms = [...(options.algorithms ?? ALGORITHMS)];
  if (algorithms.length === 0) throw new TypeError("algorithms must name at least one algorithm");
  for (const alg of algorithms) {
    if (!(ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TypeError(`algorithm ${JSON.stringify(alg)} is not one of ${ALGORITHMS.join(", ")}`);
    }
  }
  const resourceName = options.resourceName;
  return {
    issuer,
    resource,
    scopes,
    scopesSupported,
    jwksUrl: httpUrl(options.jwksUrl ?? `${issuer}/.well-known/jwks.json`, "jwksUrl"),
    algorithms,
    clockSkew: seconds(options.clockSkew, 30, 60, "clockSkew"),
    jwksCooldown: seconds(options.jwksCooldown, 30, 300, "jwksCooldown"),
    ...(resourceName ? { resourceName } : {}),
    metadataUrl: metadataUrl(resource),
  };
}

/** Where the RFC 9728 metadata of `resource` lives: the well-known path goes between the
 * host and the resource's path (§3.1), so `https://mcp.example.com/mcp` has its document at
 * `https://mcp.example.com/.well-known/oauth-protected-resource/mcp`. */
export function metadataUrl(resource: string): URL {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname;
  return new URL(`${url.origin}${WELL_KNOWN}${path}${url.search}`);
}

function httpUrl(value: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError(`${name} must be an http(s) URL`);
  return url;
}

function seconds(value: number | undefined, fallback: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new TypeError(`${name} must be a number of seconds from 0 to ${max}, got ${value}`);
  }
  return value;
}
