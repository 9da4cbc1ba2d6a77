import type { Config } from "../../platform/config";
import { inertText } from "../../platform/text";
import { supportedScopes } from "./scopes";

// The rules every way of knowing a client shares (admin registration, RFC 7591 dynamic
// registration, client ID metadata documents): which redirect URIs, grant types, scopes
// and metadata are acceptable. Each check returns a sentence for people, or undefined.

/** Grant types a client may hold (RFC 7591 §2); `client_credentials` only confidential ones. */
export const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Longest redirect or metadata URI kept, and most redirect URIs per client. */
export const MAX_URI = 2000;
export const MAX_REDIRECT_URIS = 20;
/** Longest client name (after `inertText`). */
export const MAX_NAME = 100;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** Whether `url` is a loopback `http:` URL (RFC 8252 §7.3, §8.3: `127.0.0.1`, `[::1]`, `localhost`). */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * A redirect URI's problem, or undefined when it is acceptable: absolute, no fragment
 * (RFC 6749 §3.1.2), no user name or password, `https:`, or `http:` on a loopback host
 * (RFC 8252 §7.3; OAuth 2.1 §2.3.1). The same rule in every environment: local
 * development uses loopback addresses, which it allows.
 */
export function redirectUriProblem(uri: unknown): string | undefined {
  if (typeof uri !== "string" || uri === "") return "each redirect URI must be a non-empty string";
  if (uri.length > MAX_URI) return `a redirect URI must be at most ${MAX_URI} characters`;
  const url = parseUrl(uri);
  if (!url || !/^https?:\/\//i.test(uri)) return `redirect URI "${shown(uri)}" must be an absolute http(s) URL`;
  if (uri.includes("#")) return `redirect URI "${shown(uri)}" must not have a fragment (RFC 6749 §3.1.2)`;
  if (url.username !== "" || url.password !== "") return `redirect URI "${shown(uri)}" must not carry credentials`;
  if (url.protocol !== "https:" && !isLoopbackHttp(url)) {
    return `redirect URI "${shown(uri)}" must use https, or http on 127.0.0.1, [::1] or localhost (RFC 8252)`;
  }
  return undefined;
}

/** The problem of a list of redirect URIs (`required`: at least one). */
export function redirectUrisProblem(value: unknown, required: boolean): string | undefined {
  if (!Array.isArray(value)) return "redirect_uris must be an array of URLs";
  if (required && value.length === 0) return "redirect_uris must name at least one URL";
  if (value.length > MAX_REDIRECT_URIS) return `redirect_uris may name at most ${MAX_REDIRECT_URIS} URLs`;
  for (const uri of value) {
    const problem = redirectUriProblem(uri);
    if (problem) return problem;
  }
  return undefined;
}

/** A metadata URI's problem (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`, RFC 7591 §2):
 * the redirect URI rule, without the fragment rule's RFC (a fragment is refused as well). */
export function metadataUriProblem(name: string, value: unknown): string | undefined {
  if (typeof value !== "string") return `${name} must be a URL`;
  return redirectUriProblem(value) === undefined ? undefined : `${name} must be an https URL (or http on loopback)`;
}

/** The problem of `grants` for a client of `type`: known names, `client_credentials` only
 * for confidential clients, `refresh_token` only beside `authorization_code` (RFC 6749 §6:
 * a refresh token comes from a grant). */
export function grantTypesProblem(grants: unknown, type: "public" | "confidential"): string | undefined {
  if (!Array.isArray(grants) || grants.length === 0) return "grant_types must be a non-empty array";
  for (const grant of grants) {
    if (!(GRANT_TYPES as readonly unknown[]).includes(grant)) {
      return `grant_types may hold only ${GRANT_TYPES.join(", ")}`;
    }
  }
  if (type === "public" && grants.includes("client_credentials")) {
    return "client_credentials is for confidential clients only (a public client has no secret)";
  }
  if (grants.includes("refresh_token") && !grants.includes("authorization_code")) {
    return "refresh_token needs authorization_code beside it";
  }
  return undefined;
}

/** The problem of a list of scopes: each one the provider supports (`supportedScopes`). */
export function scopesProblem(scopes: readonly unknown[], config: Config): string | undefined {
  const known = supportedScopes(config);
  for (const scope of scopes) {
    if (typeof scope !== "string" || !known.includes(scope)) {
      return `scope "${shown(String(scope))}" is not supported here (supported: ${known.join(" ")})`;
    }
  }
  return undefined;
}

/** Client text as stored and shown: inert (`inertText`), trimmed, at most `max` characters. */
export function clientText(value: string, max = MAX_NAME): string {
  return inertText(value.trim(), max);
}

/** A client's name when it gave none: the host of its first redirect URI (the consent page
 * shows that host anyway), or `fallback`. */
export function defaultName(redirectUris: readonly string[], fallback: string): string {
  const first = redirectUris[0];
  const host = first === undefined ? undefined : parseUrl(first)?.host;
  return host || fallback;
}

/** `value` as a URL, or undefined when it is not one. */
export function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** A value as shown inside an error message: inert and short. */
export function shown(value: string): string {
  return inertText(value, 200);
}
