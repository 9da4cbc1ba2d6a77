// `npm run dev` with the OAuth provider on (OAUTH_PROVIDER=true in wrangler.toml, .dev.vars or a
// --var flag): the provider signs id_tokens that relying parties verify against the JWKS, so it
// needs a public-key JWT_ALG (src/platform/config-oauth.ts refuses HS256). When the developer
// chose no JWT_ALG (wrangler.toml's HS256 default only), the dev server picks one: the algorithm
// of the key already in .dev.vars' JWT_PRIVATE_KEYS, else ES256 with a fresh key written there,
// kept across restarts so tokens and the JWKS stay the same. A JWT_ALG the developer set
// (.dev.vars or --var) is theirs: HS256 with the provider is refused by the configuration check,
// naming both settings.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { privateJwk } from "./keys-generate.mjs";

/** The JWT_ALG of a private JWK, by its key type (and `alg` when it names one). */
function algOf(jwk) {
  if (typeof jwk?.alg === "string") return jwk.alg;
  if (jwk?.kty === "EC") return "ES256";
  if (jwk?.kty === "OKP") return "EdDSA";
  if (jwk?.kty === "RSA") return "RS256";
  return undefined;
}

/**
 * What the dev server needs for the provider's signing, or `undefined` when nothing is to do.
 * `bindings` are wrangler.toml's [vars] under .dev.vars under the --var flags; `given` the names
 * .dev.vars or a flag set to a non-empty value. Writes a fresh ES256 key into .dev.vars when
 * JWT_PRIVATE_KEYS is empty there (replacing an empty line, else appending one).
 * @returns {{ alg: string, created: boolean } | undefined}
 */
export function providerSigning(devVarsPath, bindings, given) {
  if (String(bindings.OAUTH_PROVIDER ?? "").trim() !== "true") return undefined;
  if (given.has("JWT_ALG")) return undefined;
  if (given.has("JWT_PRIVATE_KEYS")) {
    let keys;
    try {
      keys = JSON.parse(bindings.JWT_PRIVATE_KEYS);
    } catch {
      // The configuration check names the broken value.
      return { alg: "ES256", created: false };
    }
    return { alg: algOf(Array.isArray(keys) ? keys[0] : undefined) ?? "ES256", created: false };
  }
  const line = `JWT_PRIVATE_KEYS='${JSON.stringify([privateJwk("ES256")])}'`;
  let text = existsSync(devVarsPath) ? readFileSync(devVarsPath, "utf8") : "# Local secrets, never committed.\n";
  const empty = /^\s*(?:export\s+)?JWT_PRIVATE_KEYS\s*=\s*(?:''|"")?\s*$/m;
  text = empty.test(text) ? text.replace(empty, line) : `${text.replace(/\n?$/, "\n")}${line}\n`;
  // Written whole, then renamed: two dev servers starting at once never read half a file.
  const temp = `${devVarsPath}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, devVarsPath);
  return { alg: "ES256", created: true };
}
