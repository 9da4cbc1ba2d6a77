import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Alg, startTestIssuer, type TestIssuer } from "../../../test/support/test-issuer";
import { AccessTokenError, bearerToken, type Refusal, type ResourceOptions, verifyAccessToken } from "../src/index";

const RESOURCE = "https://mcp.example.com/mcp";
const issuers: TestIssuer[] = [];

/** A fresh issuer (its own port, so its own cached key set) and options for it. */
async function setup(extra: Partial<ResourceOptions> = {}, alg?: Alg) {
  const issuer = await startTestIssuer({ resource: RESOURCE, alg });
  issuers.push(issuer);
  const options: ResourceOptions = { issuer: issuer.url, resource: RESOURCE, scopes: ["mcp"], ...extra };
  return { issuer, options };
}
afterAll(() => Promise.all(issuers.map((issuer) => issuer.close())));

/** The refusal `verifyAccessToken` throws. */
async function refused(input: Request | string | undefined, options: ResourceOptions): Promise<AccessTokenError> {
  const err = await verifyAccessToken(input, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AccessTokenError)) throw new Error(`expected an AccessTokenError, got ${String(err)}`);
  return err;
}

const bearer = (token: string) =>
  new Request("https://mcp.example.com/mcp", { headers: { authorization: `Bearer ${token}` } });
const now = () => Math.floor(Date.now() / 1000);

describe("a good token", () => {
  let issuer: TestIssuer;
  let options: ResourceOptions;
  beforeAll(async () => ({ issuer, options } = await setup()));

  test("is accepted from the Authorization header, with its subject, client, scopes and times", async () => {
    const iat = now();
    const token = await issuer.sign({
      sub: "ada",
      client_id: "cli",
      scope: "openid mcp",
      iat,
      exp: iat + 60,
      jti: "j1",
    });
    const verified = await verifyAccessToken(bearer(token), options);
    expect(verified).toMatchObject({
      token,
      sub: "ada",
      clientId: "cli",
      scopes: ["openid", "mcp"],
      issuedAt: iat,
      expiresAt: iat + 60,
      jti: "j1",
      authTime: iat - 60,
      amr: ["pwd"],
    });
    expect(verified.claims.iss).toBe(issuer.url);
  });

  test("is accepted as a string, and with the lower-case scheme", async () => {
    const token = await issuer.sign();
    await expect(verifyAccessToken(token, options)).resolves.toMatchObject({ sub: "user-1" });
    const lower = new Request("https://x/", { headers: { authorization: `bearer ${token}` } });
    await expect(verifyAccessToken(lower, options)).resolves.toMatchObject({ sub: "user-1" });
  });

  test("is accepted with typ application/at+jwt (RFC 9068 allows the full media type)", async () => {
    const token = await issuer.sign({}, { typ: "application/at+jwt" });
    await expect(verifyAccessToken(token, options)).resolves.toMatchObject({ sub: "user-1" });
  });

  test("is accepted when aud is a list holding the resource", async () => {
    const token = await issuer.sign({ aud: ["https://other.example.com", RESOURCE] });
    await expect(verifyAccessToken(token, options)).resolves.toMatchObject({ sub: "user-1" });
  });

  test("is accepted when the issuer option has a trailing slash (the server drops it too)", async () => {
    const token = await issuer.sign();
    await expect(verifyAccessToken(token, { ...options, issuer: `${issuer.url}/` })).resolves.toMatchObject({
      sub: "user-1",
    });
  });

  test("is accepted within the clock skew after exp, and refused past it", async () => {
    const justExpired = await issuer.sign({ exp: now() - 20 });
    await expect(verifyAccessToken(justExpired, options)).resolves.toMatchObject({ sub: "user-1" });
    expect((await refused(justExpired, { ...options, clockSkew: 5 })).reason).toBe("expired");
  });

  test("without required scopes needs no scope claim at all", async () => {
    const token = await issuer.sign({ scope: undefined });
    await expect(verifyAccessToken(token, { ...options, scopes: [] })).resolves.toMatchObject({ scopes: [] });
  });

  test("is fetched once: the key set is cached per isolate", async () => {
    const before = issuer.requests.filter((path) => path.endsWith("jwks.json")).length;
    for (let i = 0; i < 3; i++) await verifyAccessToken(await issuer.sign(), options);
    expect(issuer.requests.filter((path) => path.endsWith("jwks.json")).length).toBe(before);
  });
});

describe.each(["ES256", "EdDSA", "RS256"] as const)("signed with %s", (alg) => {
  test("is accepted by default and refused when another algorithm is pinned", async () => {
    const { issuer, options } = await setup({}, alg);
    await expect(verifyAccessToken(await issuer.sign(), options)).resolves.toMatchObject({ sub: "user-1" });
    const other = alg === "ES256" ? "RS256" : "ES256";
    expect((await refused(await issuer.sign(), { ...options, algorithms: [other] })).reason).toBe("algorithm");
  });
});

describe("refusals", () => {
  let issuer: TestIssuer;
  let options: ResourceOptions;
  beforeAll(async () => ({ issuer, options } = await setup()));

  const cases: [string, () => Promise<string>, Refusal][] = [
    ["an expired token", () => issuer.sign({ exp: now() - 120 }), "expired"],
    ["a token not valid yet (nbf)", () => issuer.sign({ nbf: now() + 600 }), "claims"],
    ["a token for another resource", () => issuer.sign({ aud: "https://other.example.com/mcp" }), "audience"],
    ["a token for the resource with a trailing slash", () => issuer.sign({ aud: `${RESOURCE}/` }), "audience"],
    ["a token for the issuer itself (no resource asked)", () => issuer.sign({ aud: issuer.url }), "audience"],
    ["a token from another issuer", () => issuer.sign({ iss: "https://evil.example.com" }), "issuer"],
    ["the API's own kind of token (typ JWT)", () => issuer.sign({}, { typ: "JWT" }), "type"],
    ["a token without typ", () => issuer.sign({}, { typ: "" }), "type"],
    ["an id_token-like token without client_id", () => issuer.sign({ client_id: undefined }), "claims"],
    ["a token without sub", () => issuer.sign({ sub: undefined }), "claims"],
    ["a token without jti", () => issuer.sign({ jti: undefined }), "claims"],
    ["a token without exp", () => issuer.sign({ exp: undefined }), "claims"],
    ["a token whose scope is not a string", () => issuer.sign({ scope: ["mcp"] }), "claims"],
    ["alg none", () => issuer.sign({}, { alg: "none" }), "algorithm"],
    ["HS256 keyed with the public key (algorithm confusion)", () => issuer.sign({}, { alg: "HS256" }), "algorithm"],
    [
      "a token signed by a key the key set never had",
      async () => issuer.sign({}, { kid: await issuer.addKey({ publish: false }) }),
      "unknown_key",
    ],
    ["a token that is not a JWT", async () => "not-a-jwt", "malformed"],
  ];
  test.each(cases)("%s is 401 invalid_token", async (_name, make, reason) => {
    const err = await refused(bearer(await make()), options);
    expect([err.status, err.error, err.reason]).toEqual([401, "invalid_token", reason]);
  });

  test("a token whose signature was made by another key under a known kid is 401 signature", async () => {
    const rogue = await issuer.addKey({ publish: false });
    const token = await issuer.sign({}, { kid: rogue });
    const [header] = (await issuer.sign()).split(".");
    const forged = [header, ...token.split(".").slice(1)].join(".");
    const err = await refused(forged, options);
    expect([err.status, err.reason]).toEqual([401, "signature"]);
  });

  test("a token without a required scope is 403 insufficient_scope naming the scopes needed", async () => {
    const token = await issuer.sign({ scope: "openid mcp" });
    const err = await refused(token, { ...options, scopes: ["mcp", "mcp:admin"] });
    expect([err.status, err.error, err.reason, err.scope]).toEqual([
      403,
      "insufficient_scope",
      "scope",
      ["mcp", "mcp:admin"],
    ]);
  });

  test("a request without Authorization is 401 with no error code (RFC 6750 §3.1)", async () => {
    const err = await refused(new Request("https://x/"), options);
    expect([err.status, err.error, err.reason]).toEqual([401, undefined, "missing"]);
  });

  test("other schemes and a token in the query count as no token", async () => {
    const basic = new Request(`https://x/?access_token=${await issuer.sign()}`, {
      headers: { authorization: "Basic YTpi" },
    });
    expect((await refused(basic, options)).reason).toBe("missing");
  });

  test.each(["Bearer", "Bearer ", "Bearer a b", "Bearer ä"])("the header %j is 401 invalid_token", async (header) => {
    const err = await refused(new Request("https://x/", { headers: { authorization: header } }), options);
    expect([err.status, err.error, err.reason]).toEqual([401, "invalid_token", "malformed"]);
  });

  test("an unreachable key set is 503, not a verdict on the token", async () => {
    const token = await issuer.sign();
    const err = await refused(token, { ...options, jwksUrl: `${issuer.url}/no-such-jwks` });
    expect([err.status, err.error, err.reason]).toEqual([503, "temporarily_unavailable", "jwks_unavailable"]);
  });
});

describe("key rotation", () => {
  test("a new key is refused while the key set cools down, then accepted after one refetch", async () => {
    const { issuer, options } = await setup({ jwksCooldown: 1 });
    await verifyAccessToken(await issuer.sign(), options);
    const fetches = () => issuer.requests.filter((path) => path.endsWith("jwks.json")).length;
    expect(fetches()).toBe(1);

    const next = await issuer.addKey({ publish: false });
    issuer.publish(next);
    const rotated = await issuer.sign({}, { kid: next });
    expect((await refused(rotated, options)).reason).toBe("unknown_key");
    expect(fetches()).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expect(verifyAccessToken(rotated, options)).resolves.toMatchObject({ sub: "user-1" });
    expect(fetches()).toBe(2);
    // The old key still verifies: both are in the set now.
    await expect(verifyAccessToken(await issuer.sign(), options)).resolves.toMatchObject({ sub: "user-1" });
    expect(fetches()).toBe(2);
  });
});

describe("options", () => {
  const base = { issuer: "https://id.example.com", resource: RESOURCE };
  test.each<[string, Partial<ResourceOptions>]>([
    ["a clock skew over 60 s", { clockSkew: 61 }],
    ["a negative clock skew", { clockSkew: -1 }],
    ["HS256 among the algorithms", { algorithms: ["HS256" as "ES256"] }],
    ["no algorithm", { algorithms: [] }],
    ["a relative issuer", { issuer: "id.example.com" }],
    ["a resource with a fragment", { resource: `${RESOURCE}#x` }],
    ["a scope with a space", { scopes: ["a b"] }],
  ])("%s is a TypeError", async (_name, bad) => {
    await expect(verifyAccessToken("x", { ...base, ...bad })).rejects.toBeInstanceOf(TypeError);
  });
});

describe("bearerToken", () => {
  const withHeader = (value?: string) =>
    new Request("https://x/", value === undefined ? {} : { headers: { authorization: value } });
  test("reads the token, says undefined for none and an empty string for a malformed one", () => {
    expect(bearerToken(withHeader("Bearer abc.def-_~+/="))).toBe("abc.def-_~+/=");
    expect(bearerToken(withHeader())).toBeUndefined();
    expect(bearerToken(withHeader("Basic YTpi"))).toBeUndefined();
    expect(bearerToken(withHeader("Bearertoken"))).toBeUndefined();
    expect(bearerToken(withHeader("Bearer a,b"))).toBe("");
  });
});
