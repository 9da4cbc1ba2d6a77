import type { Config, PrivateJwk } from "../platform/config";
import { ConfigError } from "../platform/config";

/** A public JWK as published at `/.well-known/jwks.json`. */
export type PublicJwk = JsonWebKey & { kid: string; alg: string; use: "sig" };

/** The keys of one configuration, imported once per isolate. */
export type Keyring = {
  /** What `hono/jwt` `sign` gets: a JWK with `alg` and `kid` (so the header names
   * the key), or the imported HMAC key. */
  signWith: PrivateJwk | CryptoKey;
  /** The verification key for a token's `kid` (ignored for HS256). */
  verifyWith(kid: unknown): CryptoKey | undefined;
  jwks: { keys: PublicJwk[] };
};

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

const ALGORITHMS = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  EdDSA: { name: "Ed25519" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
} as const;

/** The public half of a private JWK: never `d`, `p`, `q`, `dp`, `dq` or `qi`. */
export function publicHalf(jwk: PrivateJwk): PublicJwk {
  const half: Record<string, unknown> = {};
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) half[member] = jwk[member];
  return { ...half, kid: jwk.kid, alg: jwk.alg, use: "sig" } as PublicJwk;
}

const cache = new WeakMap<Config, Promise<Keyring>>();

/** The keyring of `config`, imported on first use and kept for the isolate's life.
 * Key material WebCrypto refuses is a configuration error. */
export function keyringOf(config: Config): Promise<Keyring> {
  let keyring = cache.get(config);
  if (!keyring) {
    keyring = importKeyring(config).catch((err) => {
      throw err instanceof ConfigError ? err : new ConfigError(`JWT keys could not be imported: ${String(err)}`);
    });
    cache.set(config, keyring);
  }
  return keyring;
}

async function importKeyring(config: Config): Promise<Keyring> {
  const { signing } = config;
  if (signing.alg === "HS256") {
    const secret = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(signing.secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return { signWith: secret, verifyWith: () => secret, jwks: { keys: [] } };
  }
  const [first] = signing.keys;
  if (!first) throw new ConfigError("JWT_PRIVATE_KEYS is empty");
  const published = signing.keys.map(publicHalf);
  const verifying = new Map<string, CryptoKey>();
  for (const jwk of published) {
    const { use: _use, ...material } = jwk;
    verifying.set(jwk.kid, await crypto.subtle.importKey("jwk", material, ALGORITHMS[signing.alg], false, ["verify"]));
  }
  // Import the signing key once here so bad private material fails at startup, not at login.
  await crypto.subtle.importKey("jwk", first, ALGORITHMS[signing.alg], false, ["sign"]);
  return {
    signWith: first,
    verifyWith: (kid) => (typeof kid === "string" ? verifying.get(kid) : undefined),
    jwks: { keys: published },
  };
}
