import * as z from "zod/mini";
import { doc, named } from "../../platform/openapi/describe";

// The provider's bodies as the OpenAPI document shows them (and the tests check every
// 2xx answer against): form-encoded requests, JSON answers.

const text = (description: string) => z.optional(doc(z.string(), description));

/** POST /oauth/token's form (RFC 6749 §4.1.3, §6, §4.4; RFC 7636 §4.5; RFC 8707 §2). */
export const tokenForm = named(
  "OAuthTokenRequest",
  z.object({
    grant_type: doc(z.enum(["authorization_code", "refresh_token", "client_credentials"]), "The grant"),
    code: text("authorization_code: the code from the redirect"),
    redirect_uri: text("authorization_code: exactly the redirect_uri of the authorization request"),
    code_verifier: text("authorization_code: the PKCE verifier (RFC 7636 §4.1: 43-128 unreserved characters)"),
    refresh_token: text("refresh_token: the grant's current refresh token"),
    scope: text("refresh_token: a narrower scope for the new access token; client_credentials: the scopes asked"),
    resource: text(
      "RFC 8707: must equal the authorization request's (or the grant's); client_credentials: one of OAUTH_RESOURCES",
    ),
    client_id: text("client_secret_post and public clients (none)"),
    client_secret: text("client_secret_post; or Authorization: Basic (client_secret_basic)"),
  }),
);

/** The token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3). */
export const tokenResponse = named(
  "OAuthTokenResponse",
  z.object({
    access_token: doc(z.string(), "A JWT, `typ: at+jwt` (RFC 9068); `aud` is the resource asked for, else the issuer"),
    token_type: z.literal("Bearer"),
    expires_in: doc(z.number(), "Seconds (OAUTH_ACCESS_TTL)"),
    scope: doc(z.string(), "The granted scopes, space-separated"),
    refresh_token: text(
      "When the client is registered with the refresh_token grant (authorization_code, refresh_token)",
    ),
    id_token: text("When `openid` was granted (authorization_code)"),
  }),
);

/** RFC 7009 / RFC 7662 request form. */
export const tokenOnlyForm = named(
  "OAuthTokenParameter",
  z.object({
    token: doc(z.string(), "The access or refresh token"),
    token_type_hint: z.optional(z.enum(["access_token", "refresh_token"])),
    client_id: text("client_secret_post and public clients (none)"),
    client_secret: text("client_secret_post; or Authorization: Basic (client_secret_basic)"),
  }),
);

/** The introspection answer (RFC 7662 §2.2). */
export const introspection = named(
  "OAuthIntrospection",
  z.object({
    active: doc(z.boolean(), "False for anything that is not a live token of this server (and then nothing else)"),
    scope: z.optional(z.string()),
    client_id: z.optional(z.string()),
    sub: z.optional(z.string()),
    aud: z.optional(z.string()),
    iss: z.optional(z.string()),
    exp: z.optional(z.number()),
    iat: z.optional(z.number()),
    token_type: z.optional(z.enum(["Bearer", "refresh_token"])),
    username: text("The person's email, when the grant has the `email` scope"),
  }),
);

/** The userinfo answer (OpenID Connect Core §5.3.2). */
export const userinfo = named(
  "OAuthUserinfo",
  z.object({
    sub: z.string(),
    email: text("With the `email` scope"),
    email_verified: z.optional(z.boolean()),
    name: text("With the `profile` scope"),
    given_name: z.optional(z.string()),
    family_name: z.optional(z.string()),
  }),
);

/** The authorization server's metadata (RFC 8414 §2, OpenID Connect Discovery §3). */
export const serverMetadata = named(
  "OAuthServerMetadata",
  z.object({
    issuer: doc(z.string(), "PUBLIC_URL without its trailing slash"),
    authorization_endpoint: z.string(),
    token_endpoint: z.string(),
    userinfo_endpoint: z.string(),
    jwks_uri: z.string(),
    registration_endpoint: text("When OAUTH_DYNAMIC_REGISTRATION=true"),
    revocation_endpoint: z.string(),
    introspection_endpoint: z.string(),
    scopes_supported: z.array(z.string()),
    response_types_supported: z.array(z.string()),
    response_modes_supported: z.array(z.string()),
    grant_types_supported: z.array(z.string()),
    code_challenge_methods_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    revocation_endpoint_auth_methods_supported: z.array(z.string()),
    introspection_endpoint_auth_methods_supported: z.array(z.string()),
    authorization_response_iss_parameter_supported: z.boolean(),
    client_id_metadata_document_supported: z.boolean(),
    id_token_signing_alg_values_supported: z.array(z.string()),
    subject_types_supported: z.array(z.string()),
    claims_supported: z.array(z.string()),
    request_parameter_supported: z.boolean(),
    request_uri_parameter_supported: z.boolean(),
  }),
);
