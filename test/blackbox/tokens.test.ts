import { randomUUID } from "node:crypto";
import http from "node:http";
import { afterAll, describe, expect } from "vitest";
import {
  type Answer,
  b64url,
  bearer,
  type Client,
  claimsOf,
  client,
  expectEnvelope,
  expectError,
  expectStatus,
  it,
  lowBitsVariant,
  once,
  signJwt,
  summary,
  target,
} from "./helpers";

/** A loopback server playing an attacker's key host: counts every request it gets. */
function attackerHost() {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [{ kty: "oct", kid: "attacker", k: b64url("attacker-key") }] }));
  });
  const listening = new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: async (file: string) => {
      await listening;
      const address = server.address();
      return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/${file}`;
    },
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const attacker = attackerHost();
afterAll(() => attacker.close());

/** A registered account whose live token the cases respell and re-sign. */
const holder = once(() => client().register());
/** A session logged out with POST /logout: its access token must stay dead. */
const revoked = once(async () => {
  const t = client();
  const { email, password } = await holder();
  const res = await t.post("/login", { email, password });
  expectStatus(res, 200);
  const pair = JSON.parse(res.text);
  expectStatus(await t.request("POST", "/logout", { headers: bearer(pair.token) }), 204);
  return pair as { token: string; refresh_token: string };
});

const now = () => Math.floor(Date.now() / 1000);
/** The holder's claims, freshly issued, with `changes` (an undefined value drops a claim). */
async function claims(changes: Record<string, unknown> = {}) {
  const base = claimsOf((await holder()).token);
  return { ...base, iat: now(), exp: now() + 300, ...changes };
}
/** Signed with a key the server does not have. */
async function forged(header: object, changes?: Record<string, unknown>, key = "attacker-key") {
  return signJwt({ alg: "HS256", typ: "JWT", ...header }, await claims(changes), key);
}

async function refused(t: Client, path: string, headers: Record<string, string | string[]>) {
  expectError(await t.get(path, headers), 401, "invalid_token");
}
async function required(t: Client, path: string, headers: Record<string, string>) {
  expectError(await t.get(path, headers), 403, "token_required");
}
const basic = `Basic ${Buffer.from("admin:hunter2").toString("base64")}`;

describe("Authorization headers", () => {
  it("Basic credentials on /welcome -> 403 token_required", async ({ t }) => {
    await required(t, "/welcome", { authorization: basic });
  });

  it("Basic credentials on /me -> 403 token_required", async ({ t }) => {
    await required(t, "/me", { authorization: basic });
  });

  it("a valid token under the Token scheme on /welcome -> 403 token_required", async ({ t }) => {
    await required(t, "/welcome", { authorization: `Token ${(await holder()).token}` });
  });

  it("a valid token under the Token scheme on /me -> 403 token_required", async ({ t }) => {
    await required(t, "/me", { authorization: `Token ${(await holder()).token}` });
  });

  it("Basic credentials plus x-access-token on /welcome -> 200 (the other token counts)", async ({ t }) => {
    expectStatus(await t.get("/welcome", { authorization: basic, "x-access-token": (await holder()).token }), 200);
  });

  it("empty Authorization on /welcome -> 403 token_required", async ({ t }) => {
    await required(t, "/welcome", { authorization: "" });
  });

  it("empty Authorization on /me -> 403 token_required", async ({ t }) => {
    await required(t, "/me", { authorization: "" });
  });

  it('"Bearer" with no token -> 401 invalid_token', async ({ t }) => {
    await refused(t, "/welcome", { authorization: "Bearer   " });
  });

  it("two Authorization headers on /me -> 401 invalid_token", async ({ t }) => {
    const { token } = await holder();
    await refused(t, "/me", { authorization: [`Bearer ${token}`, `Bearer ${token}`] });
  });

  it("two Authorization headers on /welcome -> 401 invalid_token", async ({ t }) => {
    const { token } = await holder();
    await refused(t, "/welcome", { authorization: [`Bearer ${token}`, "Bearer x.y.z"] });
  });

  it("two tokens in one Bearer header -> 401 invalid_token", async ({ t }) => {
    const { token } = await holder();
    await refused(t, "/welcome", { authorization: `Bearer ${token} ${token}` });
  });

  it("9 KB token on /welcome -> 401 invalid_token", async ({ t }) => {
    await refused(t, "/welcome", bearer(`${(await holder()).token}${"A".repeat(9 * 1024)}`));
  });

  it("9 KB token on /me -> 401 invalid_token", async ({ t }) => {
    await refused(t, "/me", bearer(`${"A".repeat(9 * 1024)}.${"B".repeat(10)}.${"C".repeat(43)}`));
  });

  it("100 KB Authorization header -> 401 or 431, never accepted", async ({ t }) => {
    const res = await t.get("/welcome", bearer("A".repeat(100 * 1024)));
    expectStatus(res, [401, 431]);
    if (res.status === 401) expectEnvelope(res, "invalid_token");
  });
});

describe("forged tokens", () => {
  it('alg "none" without signature on /welcome -> 401 invalid_token', async ({ t }) => {
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(await claims())}.`;
    await refused(t, "/welcome", bearer(token));
  });

  it('alg "none" on /me -> 401 invalid_token', async ({ t }) => {
    await refused(t, "/me", bearer(`${b64url({ alg: "none" })}.${b64url(await claims())}.`));
  });

  it('alg "NONE" with a real signature -> 401 invalid_token', async ({ t }) => {
    const [, payload, signature] = (await holder()).token.split(".");
    await refused(t, "/welcome", bearer(`${b64url({ alg: "NONE", typ: "JWT" })}.${payload}.${signature}`));
  });

  it("payload changed to role admin, signature kept -> 401 invalid_token", async ({ t }) => {
    const [header, , signature] = (await holder()).token.split(".");
    await refused(t, "/me", bearer(`${header}.${b64url(await claims({ role: "admin" }))}.${signature}`));
  });

  it("unknown kid, signed with an attacker's key -> 401 invalid_token", async ({ t }) => {
    await refused(t, "/welcome", bearer(await forged({ kid: "attacker" })));
  });

  it("kid ../../../../dev/null, signed with an empty key -> 401 invalid_token", async ({ t }) => {
    await refused(t, "/me", bearer(await forged({ kid: "../../../../../../dev/null" }, {}, "")));
  });

  it("kid with SQL injection selecting the attacker's key -> 401 invalid_token", async ({ t }) => {
    await refused(t, "/me", bearer(await forged({ kid: "x' UNION SELECT 'attacker-key' --" })));
  });

  it("jku pointing at the attacker's JWKS -> 401 invalid_token, never fetched", async ({ t }) => {
    const before = attacker.hits();
    await refused(t, "/me", bearer(await forged({ kid: "attacker", jku: await attacker.url("jwks.json") })));
    expect(attacker.hits(), "the server fetched the jku URL").toBe(before);
  });

  it("x5u pointing at the attacker's host -> 401 invalid_token, never fetched", async ({ t }) => {
    const before = attacker.hits();
    await refused(t, "/welcome", bearer(await forged({ x5u: await attacker.url("cert.pem") })));
    expect(attacker.hits(), "the server fetched the x5u URL").toBe(before);
  });

  it("the attacker's key embedded as a jwk header -> 401 invalid_token", async ({ t }) => {
    const jwk = { kty: "oct", k: b64url("attacker-key"), kid: "attacker" };
    await refused(t, "/me", bearer(await forged({ jwk, kid: "attacker" })));
  });
});

describe("a logged-out session", () => {
  it("a logged-out session's access token -> 401 on /me", async ({ t }) => {
    await refused(t, "/me", bearer((await revoked()).token));
  });

  it('the logged-out token with "=" appended -> 401 on /me', async ({ t }) => {
    await refused(t, "/me", bearer(`${(await revoked()).token}=`));
  });

  it('the logged-out token with "==" appended -> 401 on /me', async ({ t }) => {
    await refused(t, "/me", bearer(`${(await revoked()).token}==`));
  });

  it("the logged-out token with its last character changed in unused bits -> 401 on /me", async ({ t }) => {
    await refused(t, "/me", bearer(lowBitsVariant((await revoked()).token)));
  });

  it("the logged-out session's refresh token -> 401 invalid_token", async ({ t }) => {
    expectError(
      await t.post("/token/refresh", { refresh_token: (await revoked()).refresh_token }),
      401,
      "invalid_token",
    );
  });
});

/** A live token spelled in a way that lenient base64url decoders read as the same bytes:
 * each must be refused, on every transport, where the token as issued works. */
describe("non-canonical spellings of a live token", () => {
  const spellings: Record<string, (token: string) => string> = {
    '"=" after the signature': (token) => `${token}=`,
    '"==" after the signature': (token) => `${token}==`,
    "a padded payload segment": (token) => {
      const [header, payload = "", signature] = token.split(".");
      return `${header}.${payload}${"=".repeat((4 - (payload.length % 4)) % 4 || 1)}.${signature}`;
    },
    "stray low bits in the signature's last character": (token) => lowBitsVariant(token),
    "standard base64 (+ /) instead of base64url": (token) =>
      token.includes("-") || token.includes("_") ? token.replace(/-/g, "+").replace(/_/g, "/") : `${token}+`,
  };
  const refusedOn = (res: Answer, label: string) => {
    expect(res.status, `${label}: ${summary(res)}`).toBe(401);
    expectEnvelope(res, "invalid_token");
  };

  it("the live token as issued works on /welcome and /me (control)", async ({ t }) => {
    const { token } = await holder();
    expectStatus(await t.get("/welcome", bearer(token)), 200);
    expectStatus(await t.get("/me", bearer(token)), 200);
  });

  for (const [label, change] of Object.entries(spellings)) {
    it(`a live token with ${label} -> 401 invalid_token (Bearer, x-access-token, body; /welcome and /me)`, async ({
      t,
    }) => {
      const variant = change((await holder()).token);
      refusedOn(await t.get("/welcome", bearer(variant)), "Bearer /welcome");
      refusedOn(await t.get("/me", bearer(variant)), "Bearer /me");
      refusedOn(await t.get("/welcome", { "x-access-token": variant }), "x-access-token /welcome");
      refusedOn(await t.get("/me", { "x-access-token": variant }), "x-access-token /me");
      refusedOn(await t.post("/welcome", { token: variant }), "body /welcome");
    });
  }

  it("a live token with whitespace inside, in the body -> 401 invalid_token", async ({ t }) => {
    const { token } = await holder();
    for (const variant of [` ${token}`, `${token}\n`, token.replace(".", ". "), token.replace(".", "\t.")]) {
      refusedOn(await t.post("/welcome", { token: variant }), JSON.stringify(variant.slice(0, 12)));
    }
  });
});

describe.skipIf(target.tokenKey === undefined)(
  "validly signed but malformed tokens (need BLACKBOX_TOKEN_KEY, the server's TOKEN_KEY)",
  () => {
    const key = target.tokenKey ?? "";
    const sign = async (header: object, changes: Record<string, unknown> = {}, hash?: string) =>
      signJwt({ alg: "HS256", typ: "JWT", ...header }, await claims(changes), key, hash);
    /** A wrong key would make every case here pass for the wrong reason (bad signature). */
    const keyMatches = once(async () => (await client().get("/me", bearer(await sign({})))).status === 200);
    /** Signed with the server's key, once that key is known to be right. */
    const signed = async (header: object, changes?: Record<string, unknown>, hash?: string) => {
      expect(
        await keyMatches(),
        "BLACKBOX_TOKEN_KEY is not the server's TOKEN_KEY: a token signed with it is refused",
      ).toBe(true);
      return sign(header, changes, hash);
    };

    it("a token signed with the given TOKEN_KEY is accepted (the key matches the server)", async ({ t }) => {
      expectStatus(await t.get("/me", bearer(await signed({}))), 200);
    });

    it("jku and x5u on a validly signed token: the server's own key decides, nothing fetched", async ({ t }) => {
      const before = attacker.hits();
      const header = { jku: await attacker.url("jwks.json"), x5u: await attacker.url("cert.pem") };
      const res = await t.get("/me", bearer(await signed(header)));
      expectStatus(res, [200, 401]);
      expect(attacker.hits(), "the server fetched a URL named in the token").toBe(before);
    });

    it('crit ["urn:hostile"] on a validly signed token -> 401 invalid_token', async ({ t }) => {
      await refused(t, "/me", bearer(await signed({ crit: ["urn:hostile"], "urn:hostile": true })));
    });

    it('crit ["exp"] on /welcome -> 401 invalid_token', async ({ t }) => {
      await refused(t, "/welcome", bearer(await signed({ crit: ["exp"] })));
    });

    it("HS512 with the right key -> 401 (alg is pinned)", async ({ t }) => {
      await refused(t, "/me", bearer(await signed({ alg: "HS512" }, {}, "sha512")));
    });

    for (const path of ["/welcome", "/me"]) {
      it(`exp as a string -> 401 on ${path}`, async ({ t }) => {
        await refused(t, path, bearer(await signed({}, { exp: String(now() + 300) })));
      });
    }

    it("exp as an array -> 401", async ({ t }) => {
      await refused(t, "/welcome", bearer(await signed({}, { exp: [now() + 300] })));
    });

    it("exp 1e308 -> 401", async ({ t }) => {
      await refused(t, "/welcome", bearer(await signed({}, { exp: 1e308 })));
    });

    it("exp 1e308 on /me -> 401", async ({ t }) => {
      await refused(t, "/me", bearer(await signed({}, { exp: 1e308 })));
    });

    for (const path of ["/welcome", "/me"]) {
      it(`missing exp on ${path} -> 401`, async ({ t }) => {
        await refused(t, path, bearer(await signed({}, { exp: undefined })));
      });
    }

    it("exp in the past -> 401", async ({ t }) => {
      await refused(t, "/me", bearer(await signed({}, { iat: now() - 600, exp: now() - 1 })));
    });

    it("a lifetime over 30 days -> 401", async ({ t }) => {
      await refused(t, "/welcome", bearer(await signed({}, { exp: now() + 31 * 86400 })));
    });

    it("nbf an hour ahead -> 401", async ({ t }) => {
      await refused(t, "/me", bearer(await signed({}, { nbf: now() + 3600 })));
    });

    it("iat 120 s in the future -> 401 on /welcome", async ({ t }) => {
      await refused(t, "/welcome", bearer(await signed({}, { iat: now() + 120 })));
    });

    it("iat 60 s in the future -> 401 on /me", async ({ t }) => {
      await refused(t, "/me", bearer(await signed({}, { iat: now() + 60 })));
    });

    it("iat 10 s in the future is within the clock-skew allowance -> 200", async ({ t }) => {
      expectStatus(await t.get("/me", bearer(await signed({}, { iat: now() + 10 }))), 200);
    });

    it("iat as a string -> 401", async ({ t }) => {
      await refused(t, "/welcome", bearer(await signed({}, { iat: String(now()) })));
    });

    it('a signed role "admin" claim changes nothing: /me says "user", /admin/users 403', async ({ t }) => {
      const token = await signed({}, { role: "admin" });
      expect((await t.me(token)).role).toBe("user");
      expectError(await t.get("/admin/users", bearer(token)), 403, "forbidden");
    });

    it("another sub with this session's sid -> 401 on /me", async ({ t }) => {
      await refused(t, "/me", bearer(await signed({}, { sub: randomUUID(), user_id: undefined })));
    });

    it("no sid -> 401 on /me", async ({ t }) => {
      await refused(t, "/me", bearer(await signed({}, { sid: undefined })));
    });
  },
);
