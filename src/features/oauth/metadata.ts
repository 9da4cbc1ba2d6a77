import { Hono } from "hono";
import type { Config } from "../../platform/config";
import type { AppEnv } from "../../platform/env";
import { describe } from "../../platform/openapi/describe";
import { supportedScopes } from "./scopes";
import { providerOn } from "./token-form";
import { serverMetadata } from "./token-schemas";

// The provider's metadata: one document served at both discovery URLs, RFC 8414
// (`/.well-known/oauth-authorization-server`, which the MCP SDK asks first) and OpenID
// Connect Discovery 1.0 §3 (`/.well-known/openid-configuration`). Every URL is under the
// one issuer string (`PUBLIC_URL` without its trailing slash).

/** The claims the userinfo endpoint and id_tokens can carry (OpenID Connect Core §5.1). */
export const CLAIMS_SUPPORTED = [
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "auth_time",
  "nonce",
  "amr",
  "at_hash",
  "email",
  "email_verified",
  "name",
  "given_name",
  "family_name",
] as const;

/** How clients authenticate at the token, revocation and introspection endpoints. */
export const CLIENT_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"] as const;

const cache = new WeakMap<Config, Record<string, unknown>>();

/** The metadata document of `config`, built once per configuration (an isolate's life). */
export function providerMetadata(config: Config): Record<string, unknown> {
  let document = cache.get(config);
  if (!document) {
    const { issuer } = config.oauth;
    document = {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      ...(config.oauth.dynamicRegistration && { registration_endpoint: `${issuer}/oauth/register` }),
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      scopes_supported: supportedScopes(config),
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      // RFC 7662 §2.1: only confidential clients introspect.
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: config.oauth.metadataDocuments,
      id_token_signing_alg_values_supported: [config.signing.alg],
      subject_types_supported: ["public"],
      claims_supported: [...CLAIMS_SUPPORTED],
      // OpenID Connect Discovery §3: request_uri_parameter_supported defaults to true when
      // absent; this provider reads no request objects (`request_not_supported`).
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
    };
    cache.set(config, document);
  }
  return document;
}

/** How long clients and caches may keep the metadata (seconds). */
export const METADATA_CACHE_CONTROL = "public, max-age=3600";

/** The two discovery paths, serving the same document. */
export const DISCOVERY_PATHS = [
  "/.well-known/oauth-authorization-server",
  "/.well-known/openid-configuration",
] as const;

function describeDiscovery(operationId: string, summary: string) {
  return describe({
    operationId,
    tag: "OAuth",
    summary,
    description:
      "The provider's metadata (the same document at both paths): public, cacheable, `Access-Control-Allow-Origin: *` whatever CORS_ORIGINS says. 404 while OAUTH_PROVIDER is off.",
    access: "public",
    ok: { status: 200, description: "The metadata", json: serverMetadata, cacheControl: METADATA_CACHE_CONTROL },
    errors: ["not_found"],
    database: false,
  });
}

/** GET /.well-known/oauth-authorization-server (RFC 8414 §3) and
 * GET /.well-known/openid-configuration (OpenID Connect Discovery §4). */
export const discovery = new Hono<AppEnv>()
  .get(
    DISCOVERY_PATHS[0],
    describeDiscovery("getOAuthServerMetadata", "OAuth 2.0 authorization server metadata (RFC 8414)"),
    providerOn,
    (c) => {
      c.header("Cache-Control", METADATA_CACHE_CONTROL);
      return c.json(providerMetadata(c.var.config));
    },
  )
  .get(
    DISCOVERY_PATHS[1],
    describeDiscovery("getOpenIdConfiguration", "OpenID Connect discovery (the same document)"),
    providerOn,
    (c) => {
      c.header("Cache-Control", METADATA_CACHE_CONTROL);
      return c.json(providerMetadata(c.var.config));
    },
  );
