import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isCompactJws } from "../../src/identity/tokens";
import { bearer, call, claimsOf, errorOf, registered } from "../helpers";

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** Signs arbitrary header and payload with the test key, as an attacker who knew it
 * would, to check the claims are validated and not just the signature. */
async function forge(header: Record<string, unknown>, payload: Record<string, unknown>) {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(env.TOKEN_KEY),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(unsigned)));
  return `${unsigned}.${btoa(String.fromCharCode(...signature))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_")}`;
}

const claims = () => ({ sub: "u1", user_id: "u1", email: "u1@example.com", iat: now(), exp: now() + 600 });

async function expectStatus(token: string, status: number) {
  for (const path of ["/welcome", "/me"]) {
    const res = await call(path, { headers: bearer(token) });
    expect(res.status, path).toBe(status);
    if (status === 401) expect((await errorOf(res)).code).toBe("invalid_token");
  }
}

describe("hostile Authorization headers", () => {
  it.each([
    ["Basic credentials", `Basic ${btoa("admin:admin")}`],
    ["a Token scheme", "Token abc.def.ghi"],
    ["an empty value", ""],
    ["spaces only", "   "],
    ["Digest", 'Digest username="a"'],
  ])("treats %s as no token: 403", async (_label, authorization) => {
    const res = await call("/welcome", { headers: { Authorization: authorization } });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("token_required");
  });

  it("refuses two tokens in one header (a doubled Authorization) with 401", async () => {
    const { token } = await registered();
    const headers = new Headers();
    headers.append("Authorization", `Bearer ${token}`);
    headers.append("Authorization", `Bearer ${token}`);
    const res = await call("/welcome", { headers });
    expect(res.status).toBe(401);
  });

  it("refuses a 100 KB Authorization header with 401, quickly", async () => {
    const started = Date.now();
    const res = await call("/welcome", { headers: { Authorization: `Bearer ${"a".repeat(100_000)}` } });
    expect(res.status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe("hostile JWT headers", () => {
  it.each([
    ["an unknown kid", { alg: "HS256", typ: "JWT", kid: "../../etc/passwd" }, 200],
    ["a jku pointing elsewhere", { alg: "HS256", typ: "JWT", jku: "https://evil.example/jwks.json" }, 200],
    ["an x5u pointing elsewhere", { alg: "HS256", typ: "JWT", x5u: "https://evil.example/cert.pem" }, 200],
    ["a crit header", { alg: "HS256", typ: "JWT", crit: ["exp"] }, 401],
    ["typ other than JWT", { alg: "HS256", typ: "at+jwt+evil" }, 401],
    ["alg none", { alg: "none", typ: "JWT" }, 401],
    ["alg HS512", { alg: "HS512", typ: "JWT" }, 401],
    ["alg in lower case", { alg: "hs256", typ: "JWT" }, 401],
  ])("handles %s (jku/x5u/kid are never fetched or trusted)", async (_label, header, welcomeStatus) => {
    const token = await forge(header, claims());
    const res = await call("/welcome", { headers: bearer(token) });
    expect(res.status).toBe(welcomeStatus);
  });
});

describe("hostile JWT claims", () => {
  it.each([
    ["exp as a string", { exp: String(now() + 600) }],
    ["exp as an array", { exp: [now() + 600] }],
    ["exp of 1e308", { exp: 1e308 }],
    ["exp as Infinity-like", { exp: "Infinity" }],
    ["no exp", { exp: undefined }],
    ["exp in the past", { exp: now() - 1 }],
    ["nbf in the future", { nbf: now() + 120 }],
    ["iat 60 s in the future", { iat: now() + 60 }],
    ["iat as a string", { iat: String(now()) }],
    ["sub as a number", { sub: 42 }],
    ["no email", { email: undefined }],
    ["role root", { role: "root" }],
    ["sid as an object", { sid: { $ne: null } }],
    ["a lifetime over 30 days", { exp: now() + 31 * 24 * 3600 }],
  ])("refuses a validly signed token with %s: 401", async (_label, change) => {
    const token = await forge({ alg: "HS256", typ: "JWT" }, { ...claims(), ...change });
    const res = await call("/welcome", { headers: bearer(token) });
    expect(res.status).toBe(401);
  });

  it("allows 20 s of clock skew on iat", async () => {
    const token = await forge({ alg: "HS256", typ: "JWT" }, { ...claims(), iat: now() + 20 });
    expect((await call("/welcome", { headers: bearer(token) })).status).toBe(200);
  });
});

describe("revocation is by session id, not by token string", () => {
  it("keeps signature-malleability variants of a logged-out token revoked", async () => {
    const { token } = await registered();
    expect((await call("/logout", { method: "POST", headers: bearer(token) })).status).toBe(204);
    const [header, payload, signature = ""] = token.split(".");
    const last = signature.at(-1) ?? "A";
    // 32 signature bytes leave 2 unused low bits in the last base64url character.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const index = alphabet.indexOf(last);
    const variants = [
      `${header}.${payload}.${signature}=`,
      `${header}.${payload}.${signature.slice(0, -1)}${alphabet[index ^ 1]}`,
      `${header}.${payload}.${signature.slice(0, -1)}${alphabet[index ^ 2]}`,
    ];
    for (const variant of [token, ...variants]) {
      const res = await call("/me", { headers: bearer(variant) });
      expect(res.status).toBe(401);
    }
    expect(claimsOf(token).sid).toBeTruthy();
  });
});

describe("hostile tokens on every D1-checked route", () => {
  it.each([
    ["GET", "/me"],
    ["PATCH", "/me"],
    ["DELETE", "/me"],
    ["POST", "/me/password"],
    ["GET", "/sessions"],
    ["DELETE", "/sessions/x"],
    ["POST", "/logout"],
    ["POST", "/logout/all"],
    ["GET", "/admin/users"],
  ])("%s %s refuses a forged sid with 401", async (method, path) => {
    const { body } = await registered();
    const token = await forge(
      { alg: "HS256", typ: "JWT" },
      { ...claims(), sub: body.id, user_id: body.id, sid: crypto.randomUUID() },
    );
    const res = await call(path, {
      method,
      headers: { ...bearer(token), "content-type": "application/json" },
      body: method === "GET" ? undefined : "{}",
    });
    expect(res.status).toBe(401);
  });

  it("expectStatus helper sanity: a fresh token works on both kinds of route", async () => {
    const { token } = await registered();
    await expectStatus(token, 200);
  });
});

describe("only the canonical compact form of a token: three base64url segments", () => {
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  /** The same token with bits that encode no byte set in the last character of segment
   * `at`, or undefined when that segment's length leaves no such bits. */
  function strayBits(token: string, at: number): string | undefined {
    const parts = token.split(".");
    const segment = parts[at] ?? "";
    if (segment.length % 4 === 0) return undefined;
    const last = ALPHABET.indexOf(segment.at(-1) ?? "");
    parts[at] = segment.slice(0, -1) + ALPHABET[last ^ 1];
    return parts.join(".");
  }

  /** Every non-canonical spelling of `token` we can think of; each decodes, leniently, to it. */
  function variants(token: string): [string, string][] {
    const [header = "", payload = "", signature = ""] = token.split(".");
    const pad = (segment: string) => segment + "=".repeat((4 - (segment.length % 4)) % 4 || 1);
    const list: [string, string | undefined][] = [
      ['"=" after the signature', `${token}=`],
      ['"==" after the signature', `${token}==`],
      ["a padded header", `${pad(header)}.${payload}.${signature}`],
      ["a padded payload", `${header}.${pad(payload)}.${signature}`],
      ["stray low bits in the signature", strayBits(token, 2)],
      ["stray low bits in the header", strayBits(token, 0)],
      ["stray low bits in the payload", strayBits(token, 1)],
      ["standard base64 (+ and /) where base64url belongs", token.replace(/-/g, "+").replace(/_/g, "/")],
      ["a space inside", `${header}.${payload.slice(0, 5)} ${payload.slice(5)}.${signature}`],
      ["a tab inside", `${header}.${payload}.${signature.slice(0, 5)}\t${signature.slice(5)}`],
      ["a newline inside", `${header}\n.${payload}.${signature}`],
      ["a trailing newline", `${token}\n`],
      ["a fourth segment", `${token}.${signature}`],
      ["no signature", `${header}.${payload}.`],
      ["an empty payload", `${header}..${signature}`],
      [
        "a segment of 4n+1 characters",
        `${header}.${payload}.${signature}${"A".repeat((5 - (signature.length % 4)) % 4 || 4)}`,
      ],
    ];
    return list.filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== token);
  }

  /** `call`, or undefined when no client could send the token in those headers as it is:
   * a line break inside is not a legal header value, and whitespace at either end is not
   * part of one (HTTP strips it before the worker sees the header). */
  async function attempt(path: string, init: RequestInit, overrides = {}): Promise<Response | undefined> {
    try {
      const sent = new Headers(init.headers);
      for (const [name, value] of Object.entries(init.headers ?? {})) {
        if (sent.get(name) !== value) return undefined;
      }
      return await call(path, init, overrides);
    } catch (err) {
      if (err instanceof TypeError) return undefined;
      throw err;
    }
  }

  it("accepts the token as issued (control)", async () => {
    const { token } = await registered();
    expect(isCompactJws(token)).toBe(true);
    await expectStatus(token, 200);
  });

  it("refuses every non-canonical spelling of a live token with 401 invalid_token, on every transport", async () => {
    const { token } = await registered();
    const cases = variants(token);
    expect(cases.length).toBeGreaterThanOrEqual(12);
    for (const [label, variant] of cases) {
      expect(isCompactJws(variant), label).toBe(false);
      const answers = [
        attempt("/welcome", { headers: { "x-access-token": variant } }),
        attempt("/welcome", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ token: variant }),
        }),
        attempt(`/welcome?token=${encodeURIComponent(variant)}`, {}, { ALLOW_QUERY_TOKEN: "true" }),
        attempt("/me", { headers: { "x-access-token": variant } }),
        attempt("/welcome", { headers: bearer(variant) }),
        attempt("/me", { headers: bearer(variant) }),
      ];
      for (const pending of answers) {
        const res = await pending;
        // A header value with a line break cannot be sent at all: nothing to check.
        if (!res) continue;
        expect(res.status, label).toBe(401);
        expect((await errorOf(res)).code, label).toBe("invalid_token");
      }
    }
  });
});
