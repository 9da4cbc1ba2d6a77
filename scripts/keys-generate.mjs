// `npm run keys:generate -- --alg ES256|EdDSA|RS256`: prints a fresh private JWK, as a
// one-key JWT_PRIVATE_KEYS value, with a new `kid`. Rotation: put the new key first in
// the existing array, keep the old one for TOKEN_TTL plus the JWKS cache age (5 minutes),
// then drop it (docs/operations.md, "Rotating signing keys", says the same). `npm run deploy` makes a first
// JWT_PRIVATE_KEYS with `privateJwk` when the worker has none.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

const GENERATORS = {
  ES256: () => generateKeyPairSync("ec", { namedCurve: "P-256" }),
  EdDSA: () => generateKeyPairSync("ed25519"),
  RS256: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
};

/** The algorithms `privateJwk` makes keys for. */
export const KEY_ALGS = Object.keys(GENERATORS);

/** A fresh private JWK for `alg` (ES256, EdDSA or RS256) with a new `kid`. */
export function privateJwk(alg) {
  const { privateKey } = GENERATORS[alg]();
  const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
  return { ...privateKey.export({ format: "jwk" }), kid, alg, use: "sig" };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = args.indexOf("--alg");
  const alg = flag >= 0 ? args[flag + 1] : (args.find((arg) => arg.startsWith("--alg="))?.slice(6) ?? "ES256");
  if (!KEY_ALGS.includes(alg)) {
    console.error(`usage: npm run keys:generate -- --alg ${KEY_ALGS.join("|")}`);
    process.exit(2);
  }
  const jwk = privateJwk(alg);
  console.log(JSON.stringify([jwk]));
  console.error(`
A private ${alg} key with kid "${jwk.kid}" (stdout above: keep it secret).
New deployment:   npm run -s keys:generate -- --alg ${alg} | npx wrangler secret put JWT_PRIVATE_KEYS
                  and set JWT_ALG = "${alg}" in wrangler.toml.
Rotation:         put this key FIRST in your existing JWT_PRIVATE_KEYS array, keep the old
                  key(s) for TOKEN_TTL plus the JWKS cache age (max-age=300, 5 minutes),
                  so no live token needs them and no verifier's cache lacks the new key;
                  then remove them.
Local dev:        JWT_PRIVATE_KEYS='[...]' in .dev.vars (single-quoted, one line).`);
}
