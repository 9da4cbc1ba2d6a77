import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { call, errorOf, postJson, registered } from "./helpers";

const WELCOME = "Welcome to FreeCodeCamp 🙌";
const now = () => Math.floor(Date.now() / 1000);

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

async function expectInvalid(res: Response) {
  expect(res.status).toBe(401);
  expect(await errorOf(res)).toEqual({ code: "invalid_token", message: "Invalid Token" });
}

describe("/welcome", () => {
  it("answers GET with a Bearer token: 200 and the tutorial's text", async () => {
    const { token } = await registered();
    const res = await call("/welcome", { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(WELCOME);
  });

  it("accepts the x-access-token header on GET and POST", async () => {
    const { token } = await registered();
    for (const method of ["GET", "POST"]) {
      const res = await call("/welcome", { method, headers: { "x-access-token": token } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(WELCOME);
    }
  });

  it("accepts the token in a JSON body on POST, as the tutorial's article does", async () => {
    const { token } = await registered();
    const res = await postJson("/welcome", { token });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(WELCOME);
  });

  it("answers 403 'A token is required for authentication' without a token", async () => {
    for (const res of [
      await call("/welcome"),
      await call("/welcome", { method: "POST" }),
      await postJson("/welcome", {}),
      await postJson("/welcome", { token: "" }),
      await call("/welcome", { headers: { "x-access-token": "" } }),
    ]) {
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toEqual({ code: "token_required", message: "A token is required for authentication" });
    }
  });

  it("ignores ?token= unless ALLOW_QUERY_TOKEN is true", async () => {
    const { token } = await registered();
    const off = await call(`/welcome?token=${token}`);
    expect(off.status).toBe(403);
    expect((await errorOf(off)).code).toBe("token_required");
    const on = await call(`/welcome?token=${token}`, {}, { ALLOW_QUERY_TOKEN: "true" });
    expect(on.status).toBe(200);
  });

  it("refuses a token whose payload was tampered with", async () => {
    const { token } = await registered();
    const [header, , signature] = token.split(".");
    const forged = `${header}.${b64url({ sub: "someone-else", user_id: "someone-else", email: "x@example.com", iat: now(), exp: now() + 3600 })}.${signature}`;
    await expectInvalid(await call("/welcome", { headers: { Authorization: `Bearer ${forged}` } }));
  });

  it("refuses alg:none, in any letter case", async () => {
    const payload = b64url({ sub: "u", user_id: "u", email: "a@example.com", iat: now(), exp: now() + 3600 });
    for (const alg of ["none", "None", "NONE"]) {
      const token = `${b64url({ alg, typ: "JWT" })}.${payload}.`;
      await expectInvalid(await call("/welcome", { headers: { "x-access-token": token } }));
    }
  });

  it("refuses a token signed with another algorithm or another key", async () => {
    const claims = { sub: "u", user_id: "u", email: "a@example.com", iat: now(), exp: now() + 3600 };
    const otherAlg = await sign(claims, env.TOKEN_KEY, "HS512");
    const otherKey = await sign(claims, "another-key-that-is-also-32-bytes-or-more", "HS256");
    await expectInvalid(await call("/welcome", { headers: { Authorization: `Bearer ${otherAlg}` } }));
    await expectInvalid(await call("/welcome", { headers: { Authorization: `Bearer ${otherKey}` } }));
  });

  it("refuses an expired token and one without exp", async () => {
    const expired = await sign(
      { sub: "u", user_id: "u", email: "a@example.com", iat: now() - 7200, exp: now() - 60 },
      env.TOKEN_KEY,
      "HS256",
    );
    const eternal = await sign({ sub: "u", user_id: "u", email: "a@example.com", iat: now() }, env.TOKEN_KEY, "HS256");
    const late = await call("/welcome", { headers: { Authorization: `Bearer ${expired}` } });
    expect(late.status).toBe(401);
    expect(await errorOf(late)).toMatchObject({
      code: "invalid_token",
      message: expect.stringMatching(/^Invalid Token: it has expired/),
    });
    await expectInvalid(await call("/welcome", { headers: { Authorization: `Bearer ${eternal}` } }));
  });

  it.each([
    ["garbage", "not-a-jwt"],
    ["two parts", "a.b"],
    ["bad base64", "!!!.###.$$$"],
    ["a JSON null payload", `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(null)}.sig`],
    ["an oversized token", `${"a".repeat(9000)}.b.c`],
  ])("refuses a malformed token (%s) with 401", async (_label, token) => {
    await expectInvalid(await call("/welcome", { headers: { "x-access-token": token } }));
  });

  it("refuses a Bearer header that is not exactly one token with 401", async () => {
    const { token } = await registered();
    for (const authorization of ["Bearer", "Bearer   ", `Bearer ${token} ${token}`, `Bearer ${token},${token}`]) {
      await expectInvalid(await call("/welcome", { headers: { Authorization: authorization } }));
    }
  });

  it("ignores other Authorization schemes and looks for the token elsewhere", async () => {
    const { token } = await registered();
    for (const authorization of [`Basic ${btoa("a:b")}`, `Token ${token}`, "Bearertoken"]) {
      const alone = await call("/welcome", { headers: { Authorization: authorization } });
      expect(alone.status).toBe(403);
      const withHeader = await call("/welcome", { headers: { Authorization: authorization, "x-access-token": token } });
      expect(withHeader.status).toBe(200);
    }
  });

  it("refuses a non-string body token with 401 and a non-JSON body with 415", async () => {
    await expectInvalid(await postJson("/welcome", { token: { $ne: null } }));
    const form = await call("/welcome", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "token=abc",
    });
    expect(form.status).toBe(415);
  });

  it("signs tokens with HS256 and the tutorial's claims, valid for TOKEN_TTL", async () => {
    const { token, body } = await registered();
    const [header, payload] = token
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))));
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload).toMatchObject({ sub: body.id, user_id: body.id, email: body.email });
    expect(payload.exp - payload.iat).toBe(5 * 3600);
    const short = await postJson(
      "/register",
      { firstName: "A", lastName: "B", email: `ttl-${crypto.randomUUID()}@example.com`, password: "ttl-check-pass" },
      {},
      { TOKEN_TTL: "15m" },
    );
    const shortPayload = JSON.parse(atob(((await short.json()) as { token: string }).token.split(".")[1] ?? ""));
    expect(shortPayload.exp - shortPayload.iat).toBe(900);
  });
});
