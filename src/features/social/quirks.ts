import { importPKCS8, SignJWT } from "jose";
import type * as oauth from "oauth4webapi";
import type { SocialProvider } from "../../platform/config";
import { claim, type ProviderIdentity, SocialFailure, USER_AGENT } from "./outcome";

// What the presets do differently from a plain OpenID Connect provider: GitHub (OAuth 2.0
// and a REST API, no id_token) and Apple (a client secret that is a JWT; the name only in
// the first form_post). Microsoft's tenant issuer is in protocol.ts's discovery.

/** GitHub speaks OAuth 2.0 only: its endpoints are fixed (`issuer` is its base URL). */
export function githubServer(base: string): oauth.AuthorizationServer {
  return {
    issuer: base,
    authorization_endpoint: `${base}/login/oauth/authorize`,
    token_endpoint: `${base}/login/oauth/access_token`,
    token_endpoint_auth_methods_supported: ["client_secret_post"],
  };
}

/** Apple's client secret: an ES256 JWT signed with the .p8 key, valid 180 days (Apple
 * allows 6 months), made once per isolate and remade a day before it runs out. */
let appleSecret: { value: string; until: number } | undefined;
export async function clientSecret(provider: SocialProvider, now: Date): Promise<string> {
  if (!provider.apple) return provider.clientSecret;
  if (appleSecret && appleSecret.until > now.getTime()) return appleSecret.value;
  const { keyId, teamId, privateKey } = provider.apple;
  const key = await importPKCS8(privateKey, "ES256");
  const issuedAt = Math.floor(now.getTime() / 1000);
  const value = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: keyId })
    .setIssuer(teamId)
    .setSubject(provider.clientId)
    .setAudience("https://appleid.apple.com")
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 180 * 86_400)
    .sign(key);
  appleSecret = { value, until: now.getTime() + 179 * 86_400_000 };
  return value;
}

/** Apple sends the person's name once, on the first authorization only, as the form
 * field `user` (JSON `{"name":{"firstName","lastName"},"email"}`), never in the id_token. */
export function appleUser(provider: SocialProvider, params: URLSearchParams) {
  const raw = provider.formPost ? params.get("user") : null;
  try {
    const user = raw ? (JSON.parse(raw) as { name?: { firstName?: unknown; lastName?: unknown } }) : undefined;
    return { given: claim(user?.name?.firstName), family: claim(user?.name?.lastName) };
  } catch {
    return { given: undefined, family: undefined };
  }
}

/** GitHub's user: the numeric id (stable; `login` can change) and the primary email only
 * when GitHub says it is verified. The API refuses requests without a User-Agent. */
export async function githubIdentity(provider: SocialProvider, accessToken: string): Promise<ProviderIdentity> {
  const api = provider.issuer === "https://github.com" ? "https://api.github.com" : `${provider.issuer}/api`;
  const headers = {
    authorization: `Bearer ${accessToken}`,
    accept: "application/vnd.github+json",
    "user-agent": USER_AGENT,
    "x-github-api-version": "2022-11-28",
  };
  // Any failure of GitHub's API (unreachable, an error status, a body that is not the
  // JSON it documents) is the provider's: `provider_error`, never a 500.
  const get = async (path: string): Promise<unknown> => {
    try {
      const res = await fetch(`${api}${path}`, { headers });
      if (res.ok) return await res.json();
      throw new SocialFailure("provider_error", `github ${path}: ${res.status}`);
    } catch (err) {
      if (err instanceof SocialFailure) throw err;
      throw new SocialFailure("provider_error", `github ${path}: unreadable answer`);
    }
  };
  const user = (await get("/user")) as { id?: unknown; name?: unknown } | null;
  if (typeof user?.id !== "number") throw new SocialFailure("provider_error", "github /user: no numeric id");
  const emails = await get("/user/emails");
  type Entry = { email?: unknown; primary?: unknown; verified?: unknown };
  const entries = Array.isArray(emails)
    ? (emails.filter((entry) => typeof entry === "object" && entry) as Entry[])
    : [];
  const primary = entries.find((entry) => entry.primary === true);
  const verified = primary?.verified === true ? claim(primary.email) : undefined;
  return {
    issuer: provider.issuer,
    subject: String(user.id),
    email: verified,
    emailVerified: verified !== undefined,
    givenName: undefined,
    familyName: undefined,
    name: claim(user.name),
  };
}
