// `npm run keys:generate -- --alg ES256|EdDSA|RS256`: prints a fresh private JWK, as a
// one-key JWT_PRIVATE_KEYS value, with a new `kid`. Rotation: put the new key first in
// the existing array, keep the old one for TOKEN_TTL plus the JWKS cache age (5 minutes),
// then drop it (README "Rotating keys" says the same).
import { generateKeyPairSync, randomBytes } from "node:crypto";

const GENERATORS = {
  ES256: () => generateKeyPairSync("ec", { namedCurve: "P-256" }),
  EdDSA: () => generateKeyPairSync("ed25519"),
  RS256: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
};

const args = process.argv.slice(2);
const flag = args.indexOf("--alg");
const alg = flag >= 0 ? args[flag + 1] : (args.find((arg) => arg.startsWith("--alg="))?.slice(6) ?? "ES256");
if (!(alg in GENERATORS)) {
  console.error(`usage: npm run keys:generate -- --alg ${Object.keys(GENERATORS).join("|")}`);
  process.exit(2);
}

const { privateKey } = GENERATORS[alg]();
const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`;
const jwk = { ...privateKey.export({ format: "jwk" }), kid, alg, use: "sig" };

console.log(JSON.stringify([jwk]));
console.error(`
A private ${alg} key with kid "${kid}" (stdout above: keep it secret).
New deployment:   npm run -s keys:generate -- --alg ${alg} | npx wrangler secret put JWT_PRIVATE_KEYS
                  and set JWT_ALG = "${alg}" in wrangler.toml.
Rotation:         put this key FIRST in your existing JWT_PRIVATE_KEYS array, keep the old
                  key(s) for TOKEN_TTL plus the JWKS cache age (max-age=300, 5 minutes),
                  so no live token needs them and no verifier's cache lacks the new key;
                  then remove them.
Local dev:        JWT_PRIVATE_KEYS='[...]' in .dev.vars (single-quoted, one line).`);
