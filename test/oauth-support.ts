import { env } from "cloudflare:workers";
import { call, newUser, postJson } from "./helpers";

// The authorization endpoint's test kit: the provider's settings (OAUTH_PROVIDER with an
// ES256 key, PUBLIC_URL http://localhost as the issuer), clients inserted straight into
// oauth_clients (as the admin routes will), a cookie jar, and the pages' hidden fields.

export const ISSUER = "http://localhost";
export const RESOURCE = "https://mcp.example.com/mcp";

let settings: Record<string, string> | undefined;

/** The provider's settings, with a fresh ES256 key made once per file. */
export async function oauthSettings(): Promise<Record<string, string>> {
  if (!settings) {
    const params = { name: "ECDSA", namedCurve: "P-256" };
    const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
    const jwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid: "k1" };
    settings = {
      OAUTH_PROVIDER: "true",
      JWT_ALG: "ES256",
      JWT_PRIVATE_KEYS: JSON.stringify([jwk]),
      PUBLIC_URL: ISSUER,
      OAUTH_RESOURCES: RESOURCE,
      OAUTH_SCOPES: "notes:read",
    };
  }
  return settings;
}

export type TestClient = { clientId: string; redirectUri: string; name: string };

/** Inserts a client row as the admin routes (or registration) would. */
export async function insertClient({
  type = "public",
  registration = "admin",
  redirectUris = ["https://app.example.com/callback"],
  scope = null,
  firstParty = false,
  name = "Notes <b>App</b>",
  grantTypes = ["authorization_code", "refresh_token"],
}: {
  type?: "public" | "confidential";
  registration?: "admin" | "dynamic" | "metadata_document";
  redirectUris?: string[];
  scope?: string | null;
  firstParty?: boolean;
  name?: string;
  grantTypes?: string[];
} = {}): Promise<TestClient> {
  const clientId = `client-${crypto.randomUUID()}`;
  const now = Date.now();
  await env.DB.prepare(
    `insert into oauth_clients (client_id, client_name, type, registration, secret_hash, token_endpoint_auth_method,
      redirect_uris, grant_types, scope, first_party, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      clientId,
      name,
      type,
      registration,
      type === "confidential" ? "0".repeat(64) : null,
      type === "confidential" ? "client_secret_basic" : "none",
      JSON.stringify(redirectUris),
      JSON.stringify(grantTypes),
      scope,
      firstParty ? 1 : 0,
      now,
      now,
    )
    .run();
  return { clientId, redirectUri: redirectUris[0] ?? "", name };
}

/** A PKCE S256 challenge's shape (any 43 base64url characters pass the authorize check). */
export const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/** /oauth/authorize with a good request for `client`, `extra` set over it (undefined removes). */
export function authorizePath(client: TestClient, extra: Record<string, string | string[] | undefined> = {}): string {
  const params: Record<string, string | string[] | undefined> = {
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    state: "st-123",
    scope: "openid email",
    ...extra,
  };
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) query.append(name, one);
  }
  return `/oauth/authorize?${query}`;
}

/** A browser's cookies for the API's origin. */
export class Jar {
  readonly cookies = new Map<string, string>();
  header(): Record<string, string> {
    return this.cookies.size === 0
      ? {}
      : { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ") };
  }
  take(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

/** GET `path` as the browser of `jar`, with the provider on. */
export async function browse(jar: Jar, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return jar.take(await call(path, { headers: { ...jar.header(), ...headers } }, await oauthSettings()));
}

/** POSTs a page's form as the browser of `jar` (same-origin, as a browser sends it). */
export async function submit(
  jar: Jar,
  fields: Record<string, string>,
  headers: Record<string, string> = { origin: ISSUER, "sec-fetch-site": "same-origin" },
): Promise<Response> {
  const init = {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...jar.header(), ...headers },
    body: new URLSearchParams(fields).toString(),
  };
  return jar.take(await call("/oauth/authorize", init, await oauthSettings()));
}

/** The hidden inputs of the page's first form holding `name` (or of the whole page). */
export function hiddenFields(page: string, having = "csrf_token"): Record<string, string> {
  const forms = page.split("<form").slice(1);
  const form = forms.find((one) => one.includes(`name="${having}"`)) ?? page;
  const fields: Record<string, string> = {};
  for (const match of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] ?? ""] = (match[2] ?? "").replace(/&amp;/g, "&");
  }
  return fields;
}

/** Registers a user with the provider's settings (its tokens are ES256 then). */
export async function oauthUser(fields: Record<string, unknown> = {}) {
  const input = newUser(fields);
  const res = await postJson("/register", input, {}, await oauthSettings());
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id: string; token: string };
  return { input, id: body.id, token: body.token };
}

/** The query of a redirect's Location. */
export function redirectParams(res: Response): URLSearchParams {
  return new URL(res.headers.get("location") ?? "").searchParams;
}

/** Signs in on the login page of `path` and answers the response to the login POST. */
export async function signInThrough(jar: Jar, path: string, input: { email: string; password: string }) {
  const page = await browse(jar, path);
  const fields = hiddenFields(await page.text());
  return submit(jar, { ...fields, email: input.email, password: input.password });
}
