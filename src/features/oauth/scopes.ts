import type { Config } from "../../platform/config";

// The provider's scope vocabulary: the OpenID Connect ones (Core §5.4, §11) plus the
// resource servers' own (`OAUTH_SCOPES`), and each scope in plain words for the consent page.

/** The scopes every provider knows. */
export const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"] as const;

/** Every scope a client may ask for: the OpenID Connect ones, then `OAUTH_SCOPES`. */
export function supportedScopes(config: Config): string[] {
  return [...new Set([...OIDC_SCOPES, ...config.oauth.scopes])];
}

const PLAIN_WORDS: Record<string, string> = {
  openid: "Know who you are (your account id)",
  profile: "See your name",
  email: "See your email address and whether it is verified",
  offline_access: "Stay connected when you are not using it (refresh tokens)",
};

/** What granting `scope` lets the client do, for people: the OpenID Connect scopes in
 * words, a resource server's own scope by its name. */
export function scopeInWords(scope: string): string {
  return PLAIN_WORDS[scope] ?? `Use "${scope}" on your behalf`;
}

/** A space-separated scope parameter (RFC 6749 §3.3) as a sorted list without repeats. */
export function parseScope(value: string | undefined | null): string[] {
  return [...new Set((value ?? "").split(" ").filter((scope) => scope !== ""))].sort();
}
