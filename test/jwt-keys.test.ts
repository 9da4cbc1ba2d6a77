import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { jwk } from "hono/jwk";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { bearer, call, claimsOf, errorOf, postJson, registered } from "./helpers";

type Alg = "ES256" | "EdDSA" | "RS256";
type Jwk = JsonWebKey & { kid: string };

const PARAMS = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  EdDSA: { name: "Ed25519" },
  RS256: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
} as const;

/** A fresh private JWK for `alg`, made with WebCrypto inside workerd. */
async function privateKey(alg: Alg, kid: string): Promise<Jwk> {
  const pair = (await crypto.subtle.generateKey(PARAMS[alg], true, ["sign", "verify"])) as CryptoKeyPair;
  return { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid };
}

function settings(alg: Alg, keys: Jwk[], extra: Record<string, string> = {}) {
  return { JWT_ALG: alg, JWT_PRIVATE_KEYS: JSON.stringify(keys), ...extra };
}

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function headerOf(token: string) {
  return JSON.parse(atob((token.split(".")[0] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
}

async function signUp(overrides: Record<string, string>) {
  const res = await postJson(
    "/register",
    { firstName: "K", lastName: "R", email: `keys-${crypto.randomUUID()}@example.com`, password: "rotation-1" },
    {},
    overrides,
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { token: string; id: string };
}

/** A separate service that trusts only our JWKS, through Hono's own `jwk` middleware. */
function otherService(alg: Alg, overrides: Record<string, string>) {
  return new Hono()
    .use(
      "/private",
      jwk({
        alg: [alg],
        keys: async () =>
          ((await (await call("/.well-known/jwks.json", {}, overrides)).json()) as { keys: Jwk[] }).keys,
      }),
    )
    .get("/private", (c) => c.json({ sub: (c.get("jwtPayload") as { sub: string }).sub }));
}

describe.each(["ES256", "EdDSA", "RS256"] as const)("JWT_ALG=%s", (alg) => {
  it("signs with the first key, names it in kid, and the token works on stateless and D1-checked routes", async () => {
    const keys = [await privateKey(alg, `${alg}-new`), await privateKey(alg, `${alg}-old`)];
    const overrides = settings(alg, keys);
    const { token } = await signUp(overrides);
    expect(headerOf(token)).toEqual({ alg, typ: "JWT", kid: `${alg}-new` });
    expect((await call("/welcome", { headers: bearer(token) }, overrides)).status).toBe(200);
    expect((await call("/me", { headers: bearer(token) }, overrides)).status).toBe(200);
  });

  it("publishes only public halves, cacheable for five minutes", async () => {
    const keys = [await privateKey(alg, "a"), await privateKey(alg, "b")];
    const res = await call("/.well-known/jwks.json", {}, settings(alg, keys));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const { keys: published } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(published.map((key) => key.kid)).toEqual(["a", "b"]);
    for (const key of published) {
      expect(key).toMatchObject({ alg, use: "sig" });
      for (const secret of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(key).not.toHaveProperty(secret);
    }
  });

  it("rotates: old tokens verify while the old key stays, and fail once it is removed", async () => {
    const oldKey = await privateKey(alg, "old");
    const newKey = await privateKey(alg, "new");
    const before = await signUp(settings(alg, [oldKey]));
    const during = settings(alg, [newKey, oldKey]);
    expect((await call("/welcome", { headers: bearer(before.token) }, during)).status).toBe(200);
    expect(headerOf((await signUp(during)).token).kid).toBe("new");
    const after = settings(alg, [newKey]);
    const res = await call("/welcome", { headers: bearer(before.token) }, after);
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe("invalid_token");
  });

  it("interoperates with Hono's jwk middleware in another service, which rejects a removed key", async () => {
    const oldKey = await privateKey(alg, "old");
    const newKey = await privateKey(alg, "new");
    const issued = await signUp(settings(alg, [oldKey]));
    const both = otherService(alg, settings(alg, [newKey, oldKey]));
    const accepted = await both.request("/private", { headers: bearer(issued.token) });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ sub: issued.id });
    const rotatedOut = otherService(alg, settings(alg, [newKey]));
    expect((await rotatedOut.request("/private", { headers: bearer(issued.token) })).status).toBe(401);
  });

  it("rejects a token signed by a key outside the set, even under a known kid", async () => {
    const ours = await privateKey(alg, "ours");
    const overrides = settings(alg, [ours]);
    const stranger = await privateKey(alg, "ours");
    const now = Math.floor(Date.now() / 1000);
    const forged = await sign(
      { sub: "x", user_id: "x", email: "x@example.com", iat: now, exp: now + 60 },
      { ...stranger, alg },
      alg,
    );
    expect((await call("/welcome", { headers: bearer(forged) }, overrides)).status).toBe(401);
  });

  it("rejects alg switched to HS256 with the public key as secret, alg none, and a missing kid", async () => {
    const ours = await privateKey(alg, "ours");
    const overrides = settings(alg, [ours]);
    const { keys } = (await (await call("/.well-known/jwks.json", {}, overrides)).json()) as { keys: Jwk[] };
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "x", user_id: "x", email: "x@example.com", iat: now, exp: now + 60 };
    const confused = await sign(claims, JSON.stringify(keys[0]), "HS256");
    const none = `${b64url({ alg: "none", typ: "JWT", kid: "ours" })}.${b64url(claims)}.`;
    const { token } = await signUp(overrides);
    const [, payload, signature] = token.split(".");
    const noKid = `${b64url({ alg, typ: "JWT" })}.${payload}.${signature}`;
    for (const bad of [confused, none, noKid]) {
      expect((await call("/welcome", { headers: bearer(bad) }, overrides)).status).toBe(401);
    }
  });
});

describe("HS256 (the default)", () => {
  it("publishes an empty key set and signs without kid", async () => {
    const res = await call("/.well-known/jwks.json");
    expect(await res.json()).toEqual({ keys: [] });
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const { token } = await registered();
    expect(headerOf(token)).toEqual({ alg: "HS256", typ: "JWT" });
  });

  it("rejects an ES256 token even when its kid is unknown to us", async () => {
    const key = await privateKey("ES256", "k");
    const now = Math.floor(Date.now() / 1000);
    const token = await sign(
      { sub: "x", user_id: "x", email: "x@example.com", iat: now, exp: now + 60 },
      { ...key, alg: "ES256" },
      "ES256",
    );
    expect((await call("/welcome", { headers: bearer(token) })).status).toBe(401);
  });
});

describe("JWT_ISSUER and JWT_AUDIENCE", () => {
  it("are written into tokens and enforced", async () => {
    const overrides = { JWT_ISSUER: "https://auth.example.com", JWT_AUDIENCE: "api.example.com" };
    const { token } = await signUp(overrides);
    expect(claimsOf(token)).toMatchObject({ iss: "https://auth.example.com", aud: "api.example.com" });
    expect((await call("/welcome", { headers: bearer(token) }, overrides)).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const base = { sub: "x", user_id: "x", email: "x@example.com", iat: now, exp: now + 60 };
    for (const claims of [
      base,
      { ...base, iss: "https://evil.example", aud: "api.example.com" },
      { ...base, iss: "https://auth.example.com", aud: "other" },
    ]) {
      const forged = await sign(claims, env.TOKEN_KEY, "HS256");
      expect((await call("/welcome", { headers: bearer(forged) }, overrides)).status).toBe(401);
    }
  });
});

describe("key configuration", () => {
  it.each([
    ["an unknown JWT_ALG", async () => ({ JWT_ALG: "HS512" })],
    ["JWT_PRIVATE_KEYS missing", async () => ({ JWT_ALG: "ES256", JWT_PRIVATE_KEYS: "" })],
    ["JWT_PRIVATE_KEYS not JSON", async () => ({ JWT_ALG: "ES256", JWT_PRIVATE_KEYS: "{nope" })],
    ["an empty key array", async () => ({ JWT_ALG: "ES256", JWT_PRIVATE_KEYS: "[]" })],
    ["a key without kid", async () => settings("ES256", [{ ...(await privateKey("ES256", "x")), kid: "" }])],
    [
      "two keys with one kid",
      async () => settings("ES256", [await privateKey("ES256", "x"), await privateKey("ES256", "x")]),
    ],
    ["a key of the wrong type", async () => settings("ES256", [await privateKey("EdDSA", "x")])],
    [
      "a public key only",
      async () => {
        const { d: _d, ...half } = await privateKey("ES256", "x");
        return settings("ES256", [half as Jwk]);
      },
    ],
    ["corrupt key material", async () => settings("ES256", [{ ...(await privateKey("ES256", "x")), x: "AAAA" }])],
  ])("refuses %s: every request fails closed", async (_label, make) => {
    const overrides = await make();
    for (const res of [await call("/.well-known/jwks.json", {}, overrides), await call("/health", {}, overrides)]) {
      expect(res.status).toBe(500);
      expect((await errorOf(res)).code).toBe("server_misconfigured");
    }
  });

  it("does not need TOKEN_KEY with an asymmetric algorithm", async () => {
    const overrides = { ...settings("ES256", [await privateKey("ES256", "x")]), TOKEN_KEY: "" };
    expect((await call("/health", {}, overrides)).status).toBe(200);
  });
});
