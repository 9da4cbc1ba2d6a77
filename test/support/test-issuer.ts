// A stand-in for edge-auth-api's OAuth provider, for tests of resource servers: a Node HTTP
// server on loopback publishing a JWKS and RFC 8414 metadata, and access tokens shaped as the
// provider will issue them (RFC 9068), signed here with keys jose makes.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";

export type Alg = "ES256" | "EdDSA" | "RS256";

export type TestIssuer = {
  /** The issuer, `http://127.0.0.1:<port>` (no trailing slash, as the provider writes it). */
  url: string;
  jwksUrl: string;
  /** The kid of the first key, which `sign` uses unless told otherwise. */
  kid: string;
  /** Every path requested so far, in order. */
  requests: string[];
  /** Makes a key of `alg` (the first key's by default); in the JWKS unless `publish` is false. */
  addKey(options?: { alg?: Alg; publish?: boolean }): Promise<string>;
  /** Puts a key made earlier into the JWKS (a rotation: the server starts publishing it). */
  publish(kid: string): void;
  /** An access token: the claims of a good one for `resource`, with `claims` merged over them
   * (a claim set to `undefined` is left out), signed by `kid`'s key. `typ` and `alg` override
   * the header (`alg: "HS256"` signs with the public JWK's bytes as the HMAC secret, the
   * algorithm-confusion attack; `alg: "none"` makes an unsecured JWT). */
  sign(
    claims?: Record<string, unknown>,
    header?: { kid?: string; typ?: string; alg?: Alg | "HS256" | "none" },
  ): Promise<string>;
  close(): Promise<void>;
};

type Key = { alg: Alg; privateKey: CryptoKey; jwk: JWK; published: boolean };

/** Starts the stand-in issuer; its tokens' `aud` is `resource` unless overridden. */
export async function startTestIssuer(options: { resource: string; alg?: Alg }): Promise<TestIssuer> {
  const keys = new Map<string, Key>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const json = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/.well-known/jwks.json") {
      json({ keys: [...keys.values()].filter((key) => key.published).map((key) => key.jwk) });
    } else if (req.url === "/.well-known/oauth-authorization-server") {
      json({
        issuer: url,
        authorization_endpoint: `${url}/oauth/authorize`,
        token_endpoint: `${url}/oauth/token`,
        jwks_uri: `${url}/.well-known/jwks.json`,
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "refresh_token"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none"],
      });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let counter = 0;
  async function addKey({ alg = options.alg ?? "ES256", publish = true }: { alg?: Alg; publish?: boolean } = {}) {
    const kid = `test-${alg.toLowerCase()}-${++counter}`;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
    keys.set(kid, { alg, privateKey, jwk, published: publish });
    return kid;
  }
  const kid = await addKey();

  async function sign(
    claims: Record<string, unknown> = {},
    header: { kid?: string; typ?: string; alg?: Alg | "HS256" | "none" } = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    const merged: Record<string, unknown> = {
      iss: url,
      sub: "user-1",
      aud: options.resource,
      client_id: "client-1",
      scope: "mcp",
      iat: now,
      exp: now + 600,
      jti: crypto.randomUUID(),
      auth_time: now - 60,
      amr: ["pwd"],
      ...claims,
    };
    const payload = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined)) as JWTPayload;
    const key = keys.get(header.kid ?? kid);
    if (!key) throw new Error(`no key ${header.kid}`);
    const typ = header.typ ?? "at+jwt";
    const keyId = header.kid ?? kid;
    if (header.alg === "none") {
      // UnsecuredJWT writes {"alg":"none"} alone; the header a forger would send names typ and kid too.
      const [, body] = new UnsecuredJWT(payload).encode().split(".");
      return `${base64url(JSON.stringify({ alg: "none", typ, kid: keyId }))}.${body}.`;
    }
    if (header.alg === "HS256") {
      const secret = new TextEncoder().encode(JSON.stringify(key.jwk));
      return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ, kid: keyId }).sign(secret);
    }
    return new SignJWT(payload)
      .setProtectedHeader({ alg: header.alg ?? key.alg, typ, kid: keyId })
      .sign(key.privateKey);
  }

  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    kid,
    requests,
    addKey,
    publish(kid) {
      const key = keys.get(kid);
      if (!key) throw new Error(`no key ${kid}`);
      key.published = true;
    },
    sign,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}
