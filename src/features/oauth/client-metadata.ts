import * as z from "zod/mini";
import type { Config } from "../../platform/config";
import { doc, named } from "../../platform/openapi/describe";
import {
  clientText,
  type GrantType,
  grantTypesProblem,
  metadataUriProblem,
  redirectUrisProblem,
  scopesProblem,
} from "./client-rules";
import { OAuthError } from "./errors";
import { parseScope } from "./scopes";

// Client metadata (RFC 7591 §2) as POST /oauth/register receives it and a client ID
// metadata document holds it: the fields kept, checked, made inert; anything else ignored.

/** The metadata fields kept besides the ones the provider acts on (echoed back, shown). */
const URI_FIELDS = ["client_uri", "logo_uri", "tos_uri", "policy_uri"] as const;
const TEXT_FIELDS = ["software_id", "software_version"] as const;
const MAX_CONTACTS = 10;

export type AuthMethod = "none" | "client_secret_basic" | "client_secret_post";

/** What a client said about itself, checked. */
export type ClientMetadata = {
  redirectUris: string[];
  grantTypes: GrantType[];
  authMethod: AuthMethod;
  /** Sorted, without repeats; null when it named none. */
  scope: string[] | null;
  clientName: string | undefined;
  /** client_uri, logo_uri, tos_uri, policy_uri, contacts, software_id, software_version as given (checked, inert). */
  extra: Record<string, string | string[]>;
};

const invalid = (description: string) => new OAuthError("invalid_client_metadata", description);

/**
 * `body`'s client metadata, checked for `from` (RFC 7591 §2, §3.2.2):
 * - `redirect_uris` required, each https or loopback http, no fragment (else `invalid_redirect_uri`);
 * - `token_endpoint_auth_method`: a registration may ask `none`, `client_secret_basic`
 *   (the RFC's default) or `client_secret_post`; a metadata document only `none` (its
 *   default): a public document cannot hold a secret, and `private_key_jwt` is not supported;
 * - `grant_types` ⊆ authorization_code, refresh_token (default authorization_code;
 *   `client_credentials` is refused for clients nobody vetted), `response_types` ⊆ code;
 * - `scope` (space-separated) ⊆ the supported scopes;
 * - `client_name`, `contacts`, `software_id`, `software_version` made inert; `client_uri`,
 *   `logo_uri`, `tos_uri`, `policy_uri` https (or loopback http) URLs.
 * @throws OAuthError `invalid_redirect_uri` or `invalid_client_metadata`
 */
export function clientMetadataOf(
  body: Record<string, unknown>,
  config: Config,
  from: "registration" | "document",
): ClientMetadata {
  const redirectProblem = redirectUrisProblem(body.redirect_uris ?? [], true);
  if (redirectProblem) throw new OAuthError("invalid_redirect_uri", redirectProblem);
  const redirectUris = [...new Set(body.redirect_uris as string[])];

  const authMethod = body.token_endpoint_auth_method ?? (from === "document" ? "none" : "client_secret_basic");
  const methods = from === "document" ? ["none"] : ["none", "client_secret_basic", "client_secret_post"];
  if (typeof authMethod !== "string" || !methods.includes(authMethod)) {
    throw invalid(
      from === "document"
        ? "token_endpoint_auth_method must be none: a metadata document cannot hold a secret, and private_key_jwt is not supported"
        : "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
    );
  }
  const grantTypes = body.grant_types ?? ["authorization_code"];
  if (Array.isArray(grantTypes) && grantTypes.includes("client_credentials")) {
    throw invalid("client_credentials is not available to dynamically registered or metadata-document clients");
  }
  const grantProblem = grantTypesProblem(grantTypes, authMethod === "none" ? "public" : "confidential");
  if (grantProblem) throw invalid(grantProblem);
  const responseTypes = body.response_types ?? ["code"];
  if (!Array.isArray(responseTypes) || responseTypes.some((type) => type !== "code")) {
    throw invalid('response_types may hold only "code"');
  }
  if (body.scope !== undefined && typeof body.scope !== "string")
    throw invalid("scope must be a space-separated string");
  const scope = body.scope === undefined ? null : parseScope(body.scope);
  const scopeProblem = scope === null ? undefined : scopesProblem(scope, config);
  if (scopeProblem) throw invalid(scopeProblem);
  if (body.client_name !== undefined && typeof body.client_name !== "string")
    throw invalid("client_name must be a string");
  const clientName = typeof body.client_name === "string" ? clientText(body.client_name) || undefined : undefined;

  const extra: Record<string, string | string[]> = {};
  for (const field of URI_FIELDS) {
    if (body[field] === undefined) continue;
    const problem = metadataUriProblem(field, body[field]);
    if (problem) throw invalid(problem);
    extra[field] = body[field] as string;
  }
  for (const field of TEXT_FIELDS) {
    if (body[field] === undefined) continue;
    if (typeof body[field] !== "string") throw invalid(`${field} must be a string`);
    extra[field] = clientText(body[field] as string, 200);
  }
  if (body.contacts !== undefined) {
    const contacts = body.contacts;
    if (!Array.isArray(contacts) || contacts.length > MAX_CONTACTS || contacts.some((one) => typeof one !== "string")) {
      throw invalid(`contacts must be an array of at most ${MAX_CONTACTS} strings`);
    }
    extra.contacts = contacts.map((one: string) => clientText(one, 254));
  }
  return {
    redirectUris,
    grantTypes: [...new Set(grantTypes as GrantType[])],
    authMethod: authMethod as AuthMethod,
    scope,
    clientName,
    extra,
  };
}

const uri = (what: string) => z.optional(doc(z.string(), what));

/** The registration request (RFC 7591 §2), as documented; the handler reads it itself. */
export const registrationBody = named(
  "ClientRegistrationRequest",
  z.object({
    redirect_uris: doc(z.array(z.string()), "Required: https, or http on 127.0.0.1, [::1] or localhost; no fragment"),
    token_endpoint_auth_method: z.optional(z.enum(["none", "client_secret_basic", "client_secret_post"])),
    grant_types: z.optional(z.array(z.enum(["authorization_code", "refresh_token"]))),
    response_types: z.optional(z.array(z.literal("code"))),
    scope: uri("Space-separated; each one the provider supports"),
    client_name: uri("Shown on the consent page with a 'not verified' note"),
    client_uri: uri("https URL"),
    logo_uri: uri("https URL"),
    tos_uri: uri("https URL"),
    policy_uri: uri("https URL"),
    contacts: z.optional(z.array(z.string())),
    software_id: z.optional(z.string()),
    software_version: z.optional(z.string()),
  }),
);

/** The registration answer (RFC 7591 §3.2.1): every registered field echoed back. */
export const registrationJson = named(
  "ClientRegistration",
  z.object({
    client_id: z.string(),
    client_id_issued_at: doc(z.number(), "Seconds since the epoch"),
    client_secret: z.optional(doc(z.string(), "Confidential clients only, shown this once")),
    client_secret_expires_at: z.optional(doc(z.literal(0), "0: the secret does not expire")),
    client_name: z.string(),
    redirect_uris: z.array(z.string()),
    grant_types: z.array(z.string()),
    response_types: z.array(z.literal("code")),
    token_endpoint_auth_method: z.enum(["none", "client_secret_basic", "client_secret_post"]),
    scope: z.optional(z.string()),
    client_uri: z.optional(z.string()),
    logo_uri: z.optional(z.string()),
    tos_uri: z.optional(z.string()),
    policy_uri: z.optional(z.string()),
    contacts: z.optional(z.array(z.string())),
    software_id: z.optional(z.string()),
    software_version: z.optional(z.string()),
  }),
);
