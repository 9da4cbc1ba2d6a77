import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import type { SocialProvider } from "../../platform/config";
import { CALLBACK_ERRORS, claim, type ProviderIdentity, SocialFailure, truthy, USER_AGENT } from "./outcome";
import { appleUser, clientSecret, githubIdentity, githubServer } from "./quirks";

export { CALLBACK_ERRORS, type ProviderIdentity, SocialFailure };

// The protocol side of social sign-in, all of it through oauth4webapi (discovery, the
// authorization response with RFC 9207's `iss`, PKCE, the token request and the id_token's
// claims) and jose (the id_token's signature against the provider's JWKS, which
// oauth4webapi leaves unchecked for code-flow tokens). Nothing here is hand-written that
// either library does. Results are plain claims; failures are `SocialFailure`s naming the
// `error=` code the callback redirects with.

/** The id_token algorithms accepted (the list; never HS256 or none). */
const ALGORITHMS = ["RS256", "ES256", "EdDSA"];
/** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds (at most 60). */
const SKEW_SECONDS = 60;
/** An id_token older than this (by `iat`) is refused: it comes straight from the token endpoint. */
const MAX_ID_TOKEN_AGE_SECONDS = 600;
/** At most one JWKS refetch a minute for an unknown `kid` (jose's cooldown). */
const JWKS_COOLDOWN_MS = 60_000;
/** oauth4webapi's exports for issuers whose discovery names a template (Microsoft's
 * `/common`): in its build, not its types; openid-client uses them the same way. The
 * version is pinned and test/http/social-presets.test.ts covers it. */
const internals = oauth as unknown as { _nodiscoverycheck: URL; _expectedIssuer: symbol };

const insecure = (provider: SocialProvider) => ({ [oauth.allowInsecureRequests]: provider.insecure });

// Per isolate: the discovery documents and JWKS of each provider, fetched once.
const servers = new Map<string, Promise<oauth.AuthorizationServer>>();
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The provider's metadata: discovery at `<issuer>/.well-known/openid-configuration`
 * (the issuer in it checked to be exactly the configured one), once per isolate; a
 * failed fetch is tried again next time. Microsoft's multi-tenant document names the
 * issuer template `.../{tenantid}/v2.0`: each id_token's `iss` must be it with its `tid`. */
export function authorizationServer(provider: SocialProvider): Promise<oauth.AuthorizationServer> {
  if (provider.protocol === "github") return Promise.resolve(githubServer(provider.issuer));
  const key = `${provider.id} ${provider.issuer}`;
  let found = servers.get(key);
  if (!found) {
    const url = new URL(provider.issuer);
    found = oauth.discoveryRequest(url, insecure(provider)).then(async (res) => {
      if (provider.protocol !== "oidc-multitenant") return oauth.processDiscoveryResponse(url, res);
      const as = await oauth.processDiscoveryResponse(internals._nodiscoverycheck, res);
      const template = as.issuer;
      return {
        ...as,
        [internals._expectedIssuer]: ({ claims }: { claims: JWTPayload }) =>
          template.replace("{tenantid}", String(claims.tid ?? "")),
      } as oauth.AuthorizationServer;
    });
    found.catch(() => servers.delete(key));
    servers.set(key, found);
  }
  return found;
}

/** The metadata, or a SocialFailure (`provider_error`) when discovery fails. */
async function reachable(provider: SocialProvider) {
  try {
    return await authorizationServer(provider);
  } catch (err) {
    throw new SocialFailure("provider_error", `discovery: ${err instanceof Error ? err.message : err}`);
  }
}

/** The random values of one trip to the provider (each 256 bits, base64url). */
export type Trip = { state: string; nonce: string; verifier: string };

export function newTrip(): Trip {
  return {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
  };
}

/** The provider's authorization URL for `trip` (OAuth 2.0 §4.1.1, PKCE S256, OIDC's nonce). */
export async function authorizationUrl(provider: SocialProvider, trip: Trip, redirectUri: string): Promise<string> {
  const as = await reachable(provider);
  if (!as.authorization_endpoint) throw new SocialFailure("provider_error", "no authorization_endpoint");
  const url = new URL(as.authorization_endpoint);
  const params: Record<string, string> = {
    response_type: "code",
    client_id: provider.clientId,
    redirect_uri: redirectUri,
    scope: provider.scopes,
    state: trip.state,
    code_challenge: await oauth.calculatePKCECodeChallenge(trip.verifier),
    code_challenge_method: "S256",
  };
  if (provider.protocol !== "github") params.nonce = trip.nonce;
  if (provider.formPost) params.response_mode = "form_post";
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}

/** Client authentication as the provider's metadata allows: `client_secret_basic`
 * (RFC 8414's default when it lists none), else `client_secret_post`; none (PKCE alone)
 * without a secret. */
async function clientAuth(provider: SocialProvider, as: oauth.AuthorizationServer, now: Date) {
  const secret = await clientSecret(provider, now);
  if (!secret) return oauth.None();
  const methods = as.token_endpoint_auth_methods_supported;
  if (!methods || methods.includes("client_secret_basic")) return oauth.ClientSecretBasic(secret);
  if (methods.includes("client_secret_post")) return oauth.ClientSecretPost(secret);
  return oauth.None();
}

/** Checks the authorization response (`params`, from the query or a form_post body):
 * RFC 9207's `iss` when the metadata says it is sent (or when present), the state, then
 * the provider's own `error`. Throws SocialFailure. */
function checkResponse(as: oauth.AuthorizationServer, client: oauth.Client, params: URLSearchParams, state: string) {
  try {
    return oauth.validateAuthResponse(as, client, params, state);
  } catch (err) {
    if (err instanceof oauth.AuthorizationResponseError) {
      const denied = err.error === "access_denied";
      throw new SocialFailure(denied ? "access_denied" : "provider_error", `authorization error ${err.error}`);
    }
    throw new SocialFailure("invalid_state", err instanceof Error ? err.message : "invalid response");
  }
}

/**
 * The end of a trip: checks the authorization response, trades the code (with the PKCE
 * verifier) at the token endpoint, and returns who signed in: for OpenID Connect from the
 * id_token (claims checked by oauth4webapi: iss exactly, aud/azp, exp/iat, nonce; the
 * signature by jose against the JWKS, RS256/ES256/EdDSA only) and UserInfo when the
 * id_token carries no email; for GitHub from its REST API. Throws SocialFailure.
 */
export async function finishTrip(
  provider: SocialProvider,
  params: URLSearchParams,
  trip: Trip,
  redirectUri: string,
  now: Date,
): Promise<ProviderIdentity> {
  const as = await reachable(provider);
  const client: oauth.Client = { client_id: provider.clientId, [oauth.clockTolerance]: SKEW_SECONDS };
  const validated = checkResponse(as, client, params, trip.state);
  const oidc = provider.protocol !== "github";
  let tokens: oauth.TokenEndpointResponse;
  try {
    const auth = await clientAuth(provider, as, now);
    const res = await oauth.authorizationCodeGrantRequest(as, client, auth, validated, redirectUri, trip.verifier, {
      ...insecure(provider),
      headers: { "user-agent": USER_AGENT },
    });
    tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      res,
      oidc ? { expectedNonce: trip.nonce, requireIdToken: true } : undefined,
    );
  } catch (err) {
    throw tokenFailure(err);
  }
  if (!oidc) return githubIdentity(provider, tokens.access_token);
  const checked = oauth.getValidatedIdTokenClaims(tokens);
  if (!checked || !tokens.id_token) throw new SocialFailure("invalid_id_token", "no id_token");
  const claims = await verifiedIdToken(as, provider, tokens.id_token, checked);
  let email = claim(claims.email);
  let emailVerified = truthy(claims.email_verified);
  let names = { given: claim(claims.given_name), family: claim(claims.family_name), name: claim(claims.name) };
  if (!email && as.userinfo_endpoint) {
    // Some providers (oidc-provider by default) keep scope claims out of the id_token.
    try {
      const res = await oauth.userInfoRequest(as, client, tokens.access_token, insecure(provider));
      const info = await oauth.processUserInfoResponse(as, client, String(claims.sub), res);
      email = claim(info.email);
      emailVerified = truthy(info.email_verified);
      names = { given: claim(info.given_name), family: claim(info.family_name), name: claim(info.name) ?? names.name };
    } catch (err) {
      throw new SocialFailure("provider_error", `userinfo: ${err instanceof Error ? err.message : err}`);
    }
  }
  const apple = appleUser(provider, params);
  return {
    issuer: String(claims.iss),
    subject: String(claims.sub),
    email,
    emailVerified: Boolean(email) && emailVerified,
    givenName: names.given ?? apple.given,
    familyName: names.family ?? apple.family,
    name: names.name,
  };
}

/** A failure of the token request or of oauth4webapi's id_token checks. */
function tokenFailure(err: unknown): SocialFailure {
  if (err instanceof SocialFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof oauth.ResponseBodyError) return new SocialFailure("provider_error", `token: ${err.error}`);
  // oauth4webapi's checks of the id_token name it, its JWT or its claims.
  if (err instanceof oauth.OperationProcessingError && /JWT|id_token|nonce|claim/i.test(message)) {
    return new SocialFailure("invalid_id_token", message);
  }
  return new SocialFailure("provider_error", `token: ${message}`);
}

/** The id_token's signature and claims checked again by jose against the provider's JWKS
 * (cached per isolate; an unknown `kid` refetches it at most once a minute). */
async function verifiedIdToken(
  as: oauth.AuthorizationServer,
  provider: SocialProvider,
  idToken: string,
  checked: oauth.IDToken,
) {
  if (!as.jwks_uri) throw new SocialFailure("provider_error", "no jwks_uri");
  let keys = keySets.get(as.jwks_uri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(as.jwks_uri), {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: 3_600_000,
      headers: { "user-agent": USER_AGENT },
    });
    keySets.set(as.jwks_uri, keys);
  }
  try {
    // Microsoft's multi-tenant issuer: the template with the token's own `tid`, which
    // oauth4webapi has already checked `iss` against.
    const issuer = provider.protocol === "oidc-multitenant" ? String(checked.iss) : as.issuer;
    const { payload: claims } = await jwtVerify(idToken, keys, {
      issuer,
      audience: provider.clientId,
      algorithms: ALGORITHMS,
      clockTolerance: SKEW_SECONDS,
      maxTokenAge: MAX_ID_TOKEN_AGE_SECONDS,
      requiredClaims: ["sub", "iat", "exp"],
    });
    return claims;
  } catch (err) {
    throw new SocialFailure("invalid_id_token", err instanceof Error ? err.message : "id_token refused");
  }
}
