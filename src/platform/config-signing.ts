// How access tokens are signed: `JWT_ALG` picks the key, `TOKEN_KEY` for HS256 or the
// private JWKs of `JWT_PRIVATE_KEYS` (checked here against the algorithm) otherwise.
import type { SettingValue } from "./settings";
import { ConfigError } from "./settings-kinds";

/** Algorithms access tokens can be signed with (`JWT_ALG`). */
export type SigningAlg = SettingValue<"JWT_ALG">;
export type AsymmetricAlg = Exclude<SigningAlg, "HS256">;

/** A private JWK from `JWT_PRIVATE_KEYS`, reduced to the members WebCrypto needs. */
export type PrivateJwk = JsonWebKey & { kid: string; alg: AsymmetricAlg; kty: string };

/** How tokens are signed: an HMAC secret, or private keys whose first one signs. */
export type Signing = { alg: "HS256"; secret: string } | { alg: AsymmetricAlg; keys: readonly PrivateJwk[] };

/** The private members each key type must have, beyond `kty`. */
const KEY_SHAPES = {
  ES256: { kty: "EC", crv: "P-256", members: ["x", "y", "d"] },
  EdDSA: { kty: "OKP", crv: "Ed25519", members: ["x", "d"] },
  RS256: { kty: "RSA", crv: undefined, members: ["n", "e", "d", "p", "q", "dp", "dq", "qi"] },
} as const;

/** Checks `JWT_PRIVATE_KEYS` (its JSON, parsed): a non-empty array of private JWKs for
 * `alg`, each with a unique `kid`. Throws a `ConfigError` at the first bad key. */
export function privateKeys(keys: unknown, alg: AsymmetricAlg): PrivateJwk[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError(
      `JWT_PRIVATE_KEYS must be a non-empty JSON array of private JWKs (JWT_ALG is ${alg}); see npm run keys:generate`,
    );
  }
  const shape = KEY_SHAPES[alg];
  const seen = new Set<string>();
  return keys.map((key: Record<string, unknown>, index) => {
    const where = `JWT_PRIVATE_KEYS[${index}]`;
    if (typeof key !== "object" || key === null) throw new ConfigError(`${where} is not a JWK object`);
    const { kid } = key;
    if (typeof kid !== "string" || kid === "" || kid.length > 128) throw new ConfigError(`${where} needs a "kid"`);
    if (seen.has(kid)) throw new ConfigError(`${where} repeats kid "${kid}"`);
    seen.add(kid);
    if (key.alg !== undefined && key.alg !== alg)
      throw new ConfigError(`${where} is for ${String(key.alg)}, not ${alg}`);
    if (key.kty !== shape.kty || (shape.crv && key.crv !== shape.crv)) {
      throw new ConfigError(`${where} must be a ${shape.kty}${shape.crv ? ` ${shape.crv}` : ""} key for ${alg}`);
    }
    const jwk: Record<string, unknown> = { kty: shape.kty, kid, alg };
    if (shape.crv) jwk.crv = shape.crv;
    for (const member of shape.members) {
      if (typeof key[member] !== "string" || key[member] === "") throw new ConfigError(`${where} lacks "${member}"`);
      jwk[member] = key[member];
    }
    // 2048-bit modulus = 256 bytes = 342 base64url characters.
    if (alg === "RS256" && String(jwk.n).length < 342) throw new ConfigError(`${where} is shorter than 2048 bits`);
    return jwk as unknown as PrivateJwk;
  });
}
