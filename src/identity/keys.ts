import type { Config, PrivateJwk, SigningAlg } from "../platform/config";
import { ConfigError } from "../platform/config";

/** A public JWK as published at `/.well-known/jwks.json`. */
export type PublicJwk = JsonWebKey & { kid: string; alg: string; use: "sig" };

/** The keys of one configuration, imported once per isolate and used as they are: no
 * signature or verification imports a key again. */
export type Keyring = {
  alg: SigningAlg;
  /** The key every new token is signed with, and the `kid` its header names (none for
   * HS256, whose key is a shared secret with no id). */
  signer: { key: CryptoKey; kid?: string };
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
    return { alg: "HS256", signer: { key: secret }, verifyWith: () => secret, jwks: { keys: [] } };
  }
  const [first] = signing.keys;
  if (!first) throw new ConfigError("JWT_PRIVATE_KEYS is empty");
  const published = signing.keys.map(publicHalf);
  const verifying = new Map<string, CryptoKey>();
  for (const jwk of published) {
    const { use: _use, ...material } = jwk;
    verifying.set(jwk.kid, await crypto.subtle.importKey("jwk", material, ALGORITHMS[signing.alg], false, ["verify"]));
  }
  // Imported here, once: bad private material fails at startup, not at login, and no
  // signature pays for an import (it costs more than the signature itself).
  const key = await crypto.subtle.importKey("jwk", first, ALGORITHMS[signing.alg], false, ["sign"]);
  return {
    alg: signing.alg,
    signer: { key, kid: first.kid },
    verifyWith: (kid) => (typeof kid === "string" ? verifying.get(kid) : undefined),
    jwks: { keys: published },
  };
}
