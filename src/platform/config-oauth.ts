// The OAuth provider's settings (OAUTH_*, src/platform/settings-oauth.ts) turned into what its
// routes use, with the rules between them and the rest: each refused setting named, so a
// misconfiguration fails closed at start like every other (src/platform/config.ts).
import type { SettingName, SettingValue } from "./settings";

/** The OAuth 2.1 / OpenID Connect provider (`OAUTH_*` settings). */
export type OAuthConfig = {
  /** `OAUTH_PROVIDER`: with false every `/oauth/*` route and both discovery documents are 404. */
  enabled: boolean;
  /** The issuer: `PUBLIC_URL` normalised once (no trailing slash), the one identical string
   * in the metadata, every token's `iss` and every authorization response's `iss`
   * (RFC 9207). "" when the provider is off. */
  issuer: string;
  /** `OAUTH_RESOURCES`, exactly as written (RFC 8707; compared character for character). */
  resources: readonly string[];
  /** `OAUTH_SCOPES`: the resource servers' own scopes, besides the OpenID Connect ones. */
  scopes: readonly string[];
  /** `OAUTH_DYNAMIC_REGISTRATION`: `POST /oauth/register` is open. */
  dynamicRegistration: boolean;
  /** `OAUTH_CLIENT_METADATA_DOCUMENTS`: a `client_id` may be a metadata document's URL. */
  metadataDocuments: boolean;
  /** `ENVIRONMENT` dev or test: metadata documents may also be served from
   * `http://localhost` / `http://127.0.0.1` and from private addresses. */
  localDocuments: boolean;
  /** `OAUTH_CODE_TTL`, seconds. */
  codeTtlSeconds: number;
  /** `OAUTH_ACCESS_TTL`, seconds. */
  accessTtlSeconds: number;
};

type Read = <N extends SettingName>(name: N) => SettingValue<N> | undefined;

/** The rules: the provider signs id_tokens that relying parties verify against the JWKS,
 * so it needs a public-key JWT_ALG; its issuer is PUBLIC_URL. */
export function oauthRules(value: Read, publicUrl: { ok: boolean; value?: unknown }): string[] {
  if (!value("OAUTH_PROVIDER")) return [];
  const rules: string[] = [];
  if (value("JWT_ALG") === "HS256") {
    rules.push(
      "OAUTH_PROVIDER=true needs JWT_ALG ES256, EdDSA or RS256 (id_tokens must verify against the JWKS), not HS256",
    );
  }
  if (publicUrl.ok && publicUrl.value === undefined) {
    rules.push("OAUTH_PROVIDER=true needs PUBLIC_URL, the issuer (e.g. https://auth.example.com)");
  }
  return rules;
}

/** The accepted settings as the provider's configuration. */
export function oauthConfig(settings: { readonly [N in SettingName]: SettingValue<N> | undefined }): OAuthConfig {
  return {
    enabled: settings.OAUTH_PROVIDER === true,
    // PUBLIC_URL is read once, without a trailing slash (baseUrl): the one issuer string.
    issuer: settings.OAUTH_PROVIDER ? (settings.PUBLIC_URL ?? "") : "",
    resources: settings.OAUTH_RESOURCES ?? [],
    scopes: settings.OAUTH_SCOPES ?? [],
    dynamicRegistration: settings.OAUTH_DYNAMIC_REGISTRATION === true,
    metadataDocuments: settings.OAUTH_CLIENT_METADATA_DOCUMENTS === true,
    localDocuments: settings.ENVIRONMENT === "dev" || settings.ENVIRONMENT === "test",
    codeTtlSeconds: settings.OAUTH_CODE_TTL ?? 60,
    accessTtlSeconds: settings.OAUTH_ACCESS_TTL ?? 3600,
  };
}
