import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import * as client from "openid-client";
import { beforeAll, describe, expect, inject, it } from "vitest";
import {
  type Account,
  admin,
  adminClient,
  type RegisteredClient,
  registered,
  withTotp,
} from "../support/oauth-accounts";
import { OAuthBrowser } from "../support/oauth-browser";

// The provider from a relying party nobody here wrote: openid-client 6 (a certified OpenID
// Connect RP, oauth4webapi underneath) runs discovery, the code flow with PKCE, state and
// nonce, validates the id_token, fetches userinfo, refreshes and revokes, against `oauth`
// (a `npm run dev` with OAUTH_PROVIDER=true, ES256). The login, second-factor and consent
// pages are driven over HTTP by test/support/oauth-browser.ts. The id_token is verified a
// second time with jose against the JWKS the metadata names.
const { oauth } = inject("servers");
const insecure = { execute: [client.allowInsecureRequests] };

let ada: Account;
/** Ada's browser: signed in once (password, then TOTP), its session kept for the next flows. */
let browser: OAuthBrowser;
let confidential: RegisteredClient;
let publicClient: RegisteredClient;

beforeAll(async () => {
  const { oauthDir } = inject("servers");
  const root = await admin(oauth, oauthDir);
  ada = await withTotp(oauth, await registered(oauth, "ada"));
  browser = new OAuthBrowser(oauth);
  confidential = await adminClient(oauth, root.token, {
    type: "confidential",
    name: "Ada's second app",
    grant_types: ["authorization_code", "refresh_token"],
  });
  // A native app: its loopback redirect URI matches on any port (RFC 8252 §7.3).
  publicClient = await adminClient(oauth, root.token, {
    type: "public",
    name: "Ada's CLI",
    redirect_uris: ["http://127.0.0.1/callback"],
    grant_types: ["authorization_code", "refresh_token"],
  });
}, 60_000);

/** Verifies `idToken` with jose against the metadata's JWKS, as any RP could, and checks
 * the header and times openid-client does not. */
async function verifiedWithJose(idToken: string, metadata: client.ServerMetadata, audience: string) {
  const jwks = createRemoteJWKSet(new URL(String(metadata.jwks_uri)));
  const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
    issuer: metadata.issuer,
    audience,
    algorithms: ["ES256"],
  });
  const keys = (await (await fetch(String(metadata.jwks_uri))).json()) as { keys: { kid: string }[] };
  expect(keys.keys.map((key) => key.kid)).toContain(protectedHeader.kid);
  expect(protectedHeader.typ ?? "JWT").toBe("JWT");
  expect(payload.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 5);
  expect(payload.iss).toBe(metadata.issuer);
  return payload;
}

describe("openid-client 6 against the provider", () => {
  it("discovers the same metadata at both well-known addresses, with the issuer it was asked for", async () => {
    const config = await client.discovery(
      new URL(oauth),
      confidential.client_id,
      confidential.client_secret,
      undefined,
      insecure,
    );
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(oauth);
    expect(metadata.code_challenge_methods_supported).toEqual(["S256"]);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.id_token_signing_alg_values_supported).toContain("ES256");
    const [as, oidc] = await Promise.all(
      ["oauth-authorization-server", "openid-configuration"].map(async (name) =>
        (await fetch(`${oauth}/.well-known/${name}`)).json(),
      ),
    );
    expect(as).toEqual(oidc);
  }, 90_000);

  it("runs the code flow for a confidential client (client_secret_basic): id_token, userinfo, refresh, revocation", async () => {
    const config = await client.discovery(
      new URL(oauth),
      confidential.client_id,
      { client_secret: confidential.client_secret, id_token_signed_response_alg: "ES256" },
      client.ClientSecretBasic(String(confidential.client_secret)),
      insecure,
    );
    // openid-client fetches the JWKS and checks the id_token's signature too.
    client.enableNonRepudiationChecks(config);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: confidential.redirect_uri,
      scope: "openid email profile offline_access",
      prompt: "consent",
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const back = await browser.authorize(url, ada);
    expect(back.origin + back.pathname).toBe(confidential.redirect_uri);
    expect(back.searchParams.get("iss")).toBe(oauth);

    const tokens = await client.authorizationCodeGrant(config, back, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const claims = tokens.claims();
    expect(claims).toMatchObject({ iss: oauth, aud: confidential.client_id, nonce, email: ada.email });
    expect(claims?.auth_time).toEqual(expect.any(Number));
    const payload = await verifiedWithJose(String(tokens.id_token), config.serverMetadata(), confidential.client_id);
    expect(payload.sub).toBe(claims?.sub);

    // The access token: RFC 9068, for the issuer (no resource asked for).
    const header = decodeProtectedHeader(tokens.access_token);
    expect(header.typ).toBe("at+jwt");
    const jwks = createRemoteJWKSet(new URL(String(config.serverMetadata().jwks_uri)));
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: oauth, audience: oauth, typ: "at+jwt" });
    expect(access.payload).toMatchObject({ sub: claims?.sub, client_id: confidential.client_id });

    const me = await client.fetchUserInfo(config, tokens.access_token, String(claims?.sub));
    expect(me).toMatchObject({ sub: claims?.sub, email: ada.email });

    const fresh = await client.refreshTokenGrant(config, String(tokens.refresh_token));
    expect(fresh.access_token).not.toBe(tokens.access_token);
    expect(fresh.refresh_token).toEqual(expect.any(String));
    expect(fresh.refresh_token).not.toBe(tokens.refresh_token);

    await client.tokenRevocation(config, String(fresh.refresh_token));
    await expect(client.refreshTokenGrant(config, String(fresh.refresh_token))).rejects.toMatchObject({
      error: "invalid_grant",
    });
  }, 90_000);

  it("runs the code flow for a public native client (none, loopback redirect on any port)", async () => {
    const config = await client.discovery(new URL(oauth), publicClient.client_id, undefined, client.None(), insecure);
    client.enableNonRepudiationChecks(config);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const redirect_uri = "http://127.0.0.1:53127/callback";
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri,
      scope: "openid offline_access",
      prompt: "consent",
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const back = await browser.authorize(url, ada);
    expect(back.href.startsWith(`${redirect_uri}?`)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, back, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    await verifiedWithJose(String(tokens.id_token), config.serverMetadata(), publicClient.client_id);
    const fresh = await client.refreshTokenGrant(config, String(tokens.refresh_token));
    expect(fresh.access_token).toEqual(expect.any(String));
    await client.tokenRevocation(config, String(fresh.refresh_token));
    await expect(client.refreshTokenGrant(config, String(fresh.refresh_token))).rejects.toMatchObject({
      error: "invalid_grant",
    });
  }, 90_000);

  it("reports a denied consent as access_denied, with state and iss", async () => {
    const config = await client.discovery(new URL(oauth), publicClient.client_id, undefined, client.None(), insecure);
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: "http://127.0.0.1:53128/callback",
      scope: "openid",
      prompt: "consent",
      state,
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: "S256",
    });
    const back = await browser.authorize(url, { ...ada, decision: "deny" });
    expect(back.searchParams.get("iss")).toBe(oauth);
    await expect(
      client.authorizationCodeGrant(config, back, { pkceCodeVerifier: "x".repeat(43), expectedState: state }),
    ).rejects.toMatchObject({ error: "access_denied" });
  }, 90_000);

  it("takes Basic client credentials form-urlencoded (oauth4webapi: every - as %2D) and raw (the MCP SDK)", async () => {
    const id = String(confidential.client_id);
    const secret = String(confidential.client_secret);
    // RFC 6749 §2.3.1: application/x-www-form-urlencoded, here with every character encoded.
    const every = (text: string) =>
      [...Buffer.from(text)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
    const introspect = (user: string, pass: string) =>
      fetch(`${oauth}/oauth/introspect`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ token: "not-a-token" }),
      });
    for (const [user, pass] of [
      [every(id), every(secret)],
      [id, secret],
    ]) {
      const res = await introspect(String(user), String(pass));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ active: false });
    }
    expect((await introspect(id, `${secret}x`)).status).toBe(401);
  });
});
