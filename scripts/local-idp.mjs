// The Local IdP `npm run dev` starts beside the API: a real OpenID Connect provider
// (oidc-provider 9, its development login and consent pages: any name, any password) on
// loopback, with one client, so "Sign in with Local IdP" works with no account anywhere.
// In memory: its sessions are gone when it stops. Never for production.
//
//   node scripts/local-idp.mjs --port 9400 --redirect-uri http://127.0.0.1:8787/login/social/local/callback
//
// Prints nothing once it listens (the dev script prints its one line); oidc-provider's
// own warnings (Node 20 is "unsupported" but works; the in-memory adapter; the dev
// interactions) would only repeat what is said here.
import { exportJWK, generateKeyPair } from "jose";

/** The client the dev script configures as SOCIAL_LOCAL_CLIENT_ID / _CLIENT_SECRET. */
export const LOCAL_CLIENT = { id: "edge-auth-api-dev", secret: "local-idp-dev-secret" };

/** The claims of whoever signs in as `login`: the login is the email when it has an @,
 * else `<login>@example.com`; verified, as a provider that checked it would say. */
export function claimsOf(login) {
  const email = login.includes("@") ? login.toLowerCase() : `${login.toLowerCase()}@example.com`;
  const name = login.includes("@") ? login.slice(0, login.indexOf("@")) : login;
  return { sub: login, email, email_verified: true, name, given_name: name, family_name: "Local" };
}

/** Starts the provider on 127.0.0.1:`port` (the issuer), resolving once it listens. */
export async function startLocalIdp({ port, redirectUris }) {
  // Imported here, not at the top: `npm run dev` imports LOCAL_CLIENT from this file, and
  // oidc-provider warns on import under Node 20 (in the dev script's own output).
  const { default: Provider } = await import("oidc-provider");
  const keys = [];
  for (const alg of ["RS256", "ES256"]) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    keys.push({ ...(await exportJWK(privateKey)), alg, use: "sig", kid: `local-${alg.toLowerCase()}` });
  }
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: LOCAL_CLIENT.id,
        client_secret: LOCAL_CLIENT.secret,
        redirect_uris: redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    jwks: { keys },
    cookies: { keys: [crypto.randomUUID()] },
    pkce: { required: () => true },
    scopes: ["openid", "email", "profile"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "given_name", "family_name"] },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => claimsOf(sub) }),
    features: { devInteractions: { enabled: true } },
  });
  const server = provider.listen(port, "127.0.0.1");
  await new Promise((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return { issuer, stop: () => new Promise((resolve) => server.close(resolve)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
  const quiet = console.warn;
  console.warn = () => {};
  try {
    await startLocalIdp({ port: Number(arg("--port")), redirectUris: arg("--redirect-uri").split(",") });
  } catch (err) {
    console.warn = quiet;
    console.error(`Local IdP: ${err.message}`);
    process.exit(1);
  }
}
