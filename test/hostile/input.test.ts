import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, call, errorOf, newUser, postJson, registered } from "../helpers";

/** Routes that take a JSON body, each with a token when it needs one. */
async function jsonRoutes() {
  const { token } = await registered();
  return [
    { method: "POST", path: "/register", headers: {} },
    { method: "POST", path: "/login", headers: {} },
    { method: "POST", path: "/token/refresh", headers: {} },
    { method: "PATCH", path: "/me", headers: bearer(token) },
    { method: "POST", path: "/me/password", headers: bearer(token) },
  ];
}

async function send(
  route: { method: string; path: string; headers: Record<string, string> },
  body: BodyInit,
  type: string,
) {
  return call(route.path, { method: route.method, headers: { ...route.headers, "content-type": type }, body });
}

async function userCount() {
  return (await env.DB.prepare("select count(*) as n from users").first<{ n: number }>())?.n ?? 0;
}

describe("hostile JSON", () => {
  it.each([
    ["truncated", '{"email": "a@example.com", "password": "x'],
    ["empty", ""],
    ["whitespace only", "   \n "],
    ["an array", '[{"email":"a@example.com"}]'],
    ["a string", '"just a string"'],
    ["a number", "12345"],
    ["null", "null"],
    ["true", "true"],
    ["a byte-order mark then garbage", "\uFEFF{nope"],
    ["NaN", '{"email": NaN}'],
    ["single quotes", "{'email': 'a@example.com'}"],
    ["a trailing comma", '{"email": "a@example.com",}'],
    ["a comment", '{"email": "a@example.com" /* hi */}'],
  ])("answers 400 invalid_json to %s on every JSON route, and writes nothing", async (_label, body) => {
    const before = await userCount();
    for (const route of await jsonRoutes()) {
      const res = await send(route, body, "application/json");
      expect(res.status, route.path).toBe(400);
      expect((await errorOf(res)).code, route.path).toBe("invalid_json");
    }
    expect(await userCount()).toBe(before + 1); // the one jsonRoutes() registered
  });

  it("survives nesting as deep as the body limit allows", async () => {
    const depth = 8000;
    const body = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const res = await send({ method: "POST", path: "/login", headers: {} }, body, "application/json");
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
    const objects = `{"email":${'{"a":'.repeat(2500)}1${"}".repeat(2500)},"password":"x"}`;
    const nested = await send({ method: "POST", path: "/login", headers: {} }, objects, "application/json");
    expect(nested.status).toBe(400);
    expect((await errorOf(nested)).code).toBe("invalid_input");
  });

  it("answers 413 to 100k-deep nesting (it cannot fit in 16 KiB)", async () => {
    const body = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const res = await send({ method: "POST", path: "/register", headers: {} }, body, "application/json");
    expect(res.status).toBe(413);
  });

  it.each([
    ["a lone continuation byte", [0x80]],
    ["an overlong encoding", [0xc0, 0xaf]],
    ["a surrogate encoded in UTF-8", [0xed, 0xa0, 0x80]],
    ["a truncated sequence", [0xe2, 0x82]],
    ["bytes 0xFF 0xFE", [0xff, 0xfe]],
  ])("answers 400 invalid_json to invalid UTF-8: %s", async (_label, bytes) => {
    const prefix = new TextEncoder().encode('{"email":"a');
    const suffix = new TextEncoder().encode('@example.com","password":"longenough1"}');
    const body = new Uint8Array([...prefix, ...bytes, ...suffix]);
    const res = await send({ method: "POST", path: "/login", headers: {} }, body, "application/json");
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
  });

  it("validates and stores the same value when a key is repeated", async () => {
    const input = newUser();
    const body = `{"firstName":"A","lastName":"B","email":"${input.email}","firstName":"Final","password":"x","password":"${input.password}"}`;
    const res = await send({ method: "POST", path: "/register", headers: {} }, body, "application/json");
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ first_name: "Final" });
    const invalidLast = `{"firstName":"Ok","lastName":"B","email":"x-${input.email}","password":"${input.password}","password":"short"}`;
    const refused = await send({ method: "POST", path: "/register", headers: {} }, invalidLast, "application/json");
    expect(refused.status).toBe(400);
  });

  it.each([
    ['"__proto__":{"role":"admin","polluted":true}'],
    ['"constructor":{"prototype":{"role":"admin","polluted":true}}'],
    ['"__proto__":{"__proto__":{"polluted":true}}'],
    ['"prototype":{"polluted":true}'],
  ])("ignores %s: no pollution, no role", async (extra) => {
    const input = newUser();
    const body = JSON.stringify(input).replace(/}$/, `,${extra}}`);
    const res = await send({ method: "POST", path: "/register", headers: {} }, body, "application/json");
    expect(res.status).toBe(201);
    const created = (await res.json()) as { token: string };
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("role");
    expect(await (await call("/me", { headers: bearer(created.token) })).json()).toMatchObject({ role: "user" });
  });

  it.each([
    ["a number", 1],
    ["a float", 1.5],
    ["a boolean", false],
    ["an array", ["x"]],
    ["an object", { $gt: "" }],
    ["a nested array", [[["x"]]]],
  ])("refuses %s in every string field with 400 invalid_input", async (_label, value) => {
    for (const field of ["firstName", "lastName", "email", "password"]) {
      const res = await postJson("/register", newUser({ [field]: value }));
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    }
    for (const body of [
      { email: value, password: "x" },
      { email: "a@example.com", password: value },
    ]) {
      const res = await postJson("/login", body);
      expect(res.status).toBe(400);
    }
    expect((await postJson("/token/refresh", { refresh_token: value })).status).toBe(400);
  });
});

describe("hostile content types", () => {
  it.each([
    ["text/plain", "text/plain;charset=UTF-8"],
    ["urlencoded", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=----x"],
    ["xml", "application/xml"],
    ["a made-up type", "application/jsonx"],
    ["json as a parameter", "text/plain; type=application/json"],
  ])("refuses JSON sent as %s with 415 on every JSON route, writing nothing", async (_label, type) => {
    const input = newUser();
    for (const route of await jsonRoutes()) {
      const res = await send(route, JSON.stringify(input), type);
      expect(res.status, route.path).toBe(415);
      expect((await errorOf(res)).code).toBe("unsupported_media_type");
    }
    expect(await env.DB.prepare("select id from users where email = ?").bind(input.email).first()).toBeNull();
  });
});

describe("hostile emails", () => {
  it.each([
    ["NUL", "a\u0000b@example.com"],
    ["CR/LF", "a@example.com\r\nBcc: victim@example.com"],
    ["a tab inside", "a\tb@example.com"],
    ["a bell", "a\u0007@example.com"],
    ["DEL", "a\u007f@example.com"],
    ["a SQL fragment", "a@example.com' OR '1'='1"],
    ["a statement", "a@example.com'; DROP TABLE users; --"],
    ["a percent wildcard", "%@example.com"],
    ["only a wildcard", "%"],
  ])("refuses %s at register with 400 and at login like any wrong login", async (_label, email) => {
    const res = await postJson("/register", newUser({ email }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_input");
    const login = await postJson("/login", { email, password: "whatever-123" });
    expect(login.status).toBe(400);
    expect((await errorOf(login)).code).toBe("invalid_credentials");
  });

  it("treats _ and % in a registered email as plain characters, not wildcards", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const { input } = await registered({ email: `a_${tag}@example.com` });
    for (const probe of [`ab${tag}@example.com`, `a%${tag}@example.com`, `a%`, "%"]) {
      const res = await postJson("/login", { email: probe, password: input.password });
      expect(res.status).toBe(400);
    }
    expect((await postJson("/login", { email: input.email, password: input.password })).status).toBe(200);
  });

  it("answers 413 to a 100 KB email", async () => {
    const res = await postJson("/login", { email: `${"a".repeat(100_000)}@example.com`, password: "x" });
    expect(res.status).toBe(413);
  });

  it.each([
    ["Cyrillic а", (email: string) => email.replace("a", "\u0430")],
    ["fullwidth ａ", (email: string) => email.replace("a", "\uff41")],
    ["a zero-width space", (email: string) => email.replace("@", "\u200b@")],
    ["dotless ı", (email: string) => email.replace("i", "\u0131")],
  ])("never logs a look-alike (%s) into another user's account", async (_label, lookAlike) => {
    const { input } = await registered({ email: `alice-${crypto.randomUUID().slice(0, 8)}@example.com` });
    const res = await postJson("/login", { email: lookAlike(input.email), password: input.password });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_credentials");
  });

  it("treats canonically equivalent spellings (NFC) as the same address", async () => {
    const local = `jose\u0301-${crypto.randomUUID().slice(0, 8)}`;
    const res = await postJson("/register", newUser({ email: `${local}@example.com` }));
    // zod's email check is ASCII-only: non-ASCII local parts are refused at register,
    // so a decomposed spelling can never create a second account next to a composed one.
    expect(res.status).toBe(400);
  });
});
