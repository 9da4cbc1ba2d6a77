// The bindings that turn the OAuth provider on in a workerd test: ES256 with a key made
// here (the provider refuses HS256), PUBLIC_URL as the issuer, `mcp` as a resource
// server's scope, dynamic registration open.

const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
])) as CryptoKeyPair;
const jwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid: "oauth-test" };

export const OAUTH_ON = {
  OAUTH_PROVIDER: "true",
  JWT_ALG: "ES256",
  JWT_PRIVATE_KEYS: JSON.stringify([jwk]),
  PUBLIC_URL: "http://localhost:8787",
  OAUTH_SCOPES: "mcp",
  OAUTH_DYNAMIC_REGISTRATION: "true",
} as unknown as Partial<Cloudflare.Env>;
