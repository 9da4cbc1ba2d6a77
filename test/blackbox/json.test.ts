import { describe, expect } from "vitest";
import { BODY_LIMIT, type Client, expectError, expectStatus, it, newUser } from "./helpers";

/** The deepest `email` nesting whose body still fits in the limit, padded to exactly
 * BODY_LIMIT bytes with JSON whitespace; `over` is the same body one byte longer. */
function deepest(open: string, close: string, inner: string) {
  const frame = (depth: number, pad: number) =>
    `{"password":"x-hostile-1","email":${open.repeat(depth)}${inner}${close.repeat(depth)}${" ".repeat(pad)}}`;
  const unit = open.length + close.length;
  const depth = Math.floor((BODY_LIMIT - frame(0, 0).length) / unit);
  const fits = frame(depth, BODY_LIMIT - frame(depth, 0).length);
  return { depth, fits, over: `${fits.slice(0, -1)} }` };
}

const raw = (t: Client, path: string, text: string | Buffer) => t.post(path, text);

describe("malformed JSON bodies", () => {
  it("truncated body -> 400 invalid_json, nothing written", async ({ t }) => {
    const user = newUser();
    expectError(await raw(t, "/register", JSON.stringify(user).slice(0, -3)), 400, "invalid_json");
    await t.expectRegistrable(user.email);
  });

  for (const path of ["/register", "/login", "/token/refresh"]) {
    it(`empty body on ${path} -> 400 invalid_json`, async ({ t }) => {
      expectError(await raw(t, path, ""), 400, "invalid_json");
    });
  }

  it("whitespace-only body -> 400 invalid_json", async ({ t }) => {
    expectError(await raw(t, "/login", " \r\n\t "), 400, "invalid_json");
  });

  it("top-level array holding a valid registration -> 400 invalid_json, nothing written", async ({ t }) => {
    const user = newUser();
    expectError(await raw(t, "/register", JSON.stringify([user])), 400, "invalid_json");
    await t.expectRegistrable(user.email);
  });

  for (const [kind, path, body] of [
    ["string", "/login", '"a@b.c"'],
    ["number", "/login", "42"],
    ["null", "/register", "null"],
    ["true", "/token/refresh", "true"],
  ] as const) {
    it(`top-level ${kind} -> 400 invalid_json`, async ({ t }) => {
      expectError(await raw(t, path, body), 400, "invalid_json");
    });
  }
});

describe("deep nesting and the 16 KiB limit", () => {
  it("arrays nested as deep as 16 KiB allows, where a string belongs -> 400 invalid_input", async ({ t }) => {
    const { fits, depth } = deepest("[", "]", "");
    expect(Buffer.byteLength(fits), "fixture size").toBe(BODY_LIMIT);
    expect(depth, "fixture depth").toBeGreaterThan(8000);
    expectError(await raw(t, "/login", fits), 400, "invalid_input");
  });

  it("objects nested as deep as 16 KiB allows -> 400 invalid_input", async ({ t }) => {
    expectError(await raw(t, "/login", deepest('{"a":', "}", "1").fits), 400, "invalid_input");
  });

  it("deepest nesting one byte over 16 KiB -> 413 payload_too_large", async ({ t }) => {
    expectError(await raw(t, "/login", deepest("[", "]", "").over), 413, "payload_too_large");
  });

  it("100k-deep nesting (200 KB) -> 413 payload_too_large", async ({ t }) => {
    const depth = 100_000;
    expectError(await raw(t, "/login", `{"email":${"[".repeat(depth)}${"]".repeat(depth)}}`), 413, "payload_too_large");
  });

  it("over-limit body streamed without Content-Length -> 413 payload_too_large", async ({ t }) => {
    const user = newUser();
    const body = JSON.stringify({ ...user, padding: "x".repeat(BODY_LIMIT) });
    const res = await t.request("POST", "/register", {
      headers: { "content-type": "application/json" },
      body,
      chunked: true,
    });
    expectError(res, 413, "payload_too_large");
    await t.expectRegistrable(user.email);
  });
});

describe("bytes that are not UTF-8 JSON", () => {
  it("invalid UTF-8 byte in a field -> 400 invalid_json, nothing written", async ({ t }) => {
    const user = newUser();
    const [before, after] = JSON.stringify({ ...user, firstName: "@@" }).split("@@");
    const body = Buffer.concat([Buffer.from(before ?? ""), Buffer.from([0xff, 0xfe]), Buffer.from(after ?? "")]);
    expectError(await raw(t, "/register", body), 400, "invalid_json");
    await t.expectRegistrable(user.email);
  });

  it("overlong UTF-8 encoding -> 400 invalid_json", async ({ t }) => {
    const body = Buffer.concat([
      Buffer.from('{"email":"a'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('@b.co","password":"x"}'),
    ]);
    expectError(await raw(t, "/login", body), 400, "invalid_json");
  });

  it("UTF-16 body labelled application/json -> 400 invalid_json", async ({ t }) => {
    const body = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"email":"a@b.co"}', "utf16le")]);
    expectError(await raw(t, "/login", body), 400, "invalid_json");
  });

  it("lone surrogate escape in a name -> 400 invalid_input, nothing written", async ({ t }) => {
    const user = newUser();
    const body = JSON.stringify({ ...user, firstName: "@@" }).replace('"@@"', '"\\ud800"');
    expectError(await raw(t, "/register", body), 400, "invalid_input");
    await t.expectRegistrable(user.email);
  });
});

describe("duplicate keys", () => {
  it("duplicate email keys: validation and storage both use the last one", async ({ t }) => {
    const user = newUser();
    const first = newUser().email;
    const body = JSON.stringify(user).replace('"email":', `"email":${JSON.stringify(first)},"email":`);
    const res = await raw(t, "/register", body);
    expectStatus(res, 201);
    expect(JSON.parse(res.text).email, "the stored email is the last value").toBe(user.email);
    await t.expectRegistrable(first);
  });

  it("duplicate email keys, last one invalid -> 400 invalid_input, the first one not written", async ({ t }) => {
    const user = newUser();
    // The valid email comes first, the invalid one last.
    const body = `${JSON.stringify(user).slice(0, -1)},"email":"not-an-email"}`;
    expectError(await raw(t, "/register", body), 400, "invalid_input");
    await t.expectRegistrable(user.email);
  });

  it("duplicate password keys: only the last one logs in", async ({ t }) => {
    const user = newUser();
    const decoy = "decoy-password-1";
    const body = JSON.stringify(user).replace('"password":', `"password":"${decoy}","password":`);
    expectStatus(await raw(t, "/register", body), 201);
    expectStatus(await t.post("/login", { email: user.email, password: user.password }), 200);
    expectError(await t.post("/login", { email: user.email, password: decoy }), 400, "invalid_credentials");
  });
});

describe("prototype pollution and mass assignment", () => {
  it('"__proto__": {"role":"admin"} at /register: 201, GET /me says role "user"', async ({ t }) => {
    const user = newUser();
    const body = `{"__proto__":{"role":"admin","isAdmin":true},${JSON.stringify(user).slice(1)}`;
    const res = await raw(t, "/register", body);
    expectStatus(res, 201);
    const account = await t.me(JSON.parse(res.text).token);
    expect(account.role).toBe("user");
  });

  it('"constructor": {"prototype": {"role":"admin"}} at /register: role stays "user", also for the next user', async ({
    t,
  }) => {
    const user = newUser();
    const body = `{"constructor":{"prototype":{"role":"admin"}},${JSON.stringify(user).slice(1)}`;
    const res = await raw(t, "/register", body);
    expectStatus(res, 201);
    expect((await t.me(JSON.parse(res.text).token)).role, "role changed").toBe("user");
    const next = await t.register();
    expect((await t.me(next.token)).role, "a later user inherited a polluted role").toBe("user");
  });

  it('"__proto__" carrying the email at /login -> 400 invalid_input (no inherited fields)', async ({ t }) => {
    const body = `{"__proto__":{"email":"${newUser().email}"},"password":"whatever-123"}`;
    expectError(await raw(t, "/login", body), 400, "invalid_input");
  });

  it("unknown fields (id, role, created_at, isAdmin) are ignored", async ({ t }) => {
    const user = newUser();
    const forced = { id: "00000000-0000-0000-0000-000000000000", role: "admin", isAdmin: true };
    const res = await t.post("/register", { ...user, ...forced, created_at: "1970-01-01T00:00:00.000Z" });
    expectStatus(res, 201);
    const created = JSON.parse(res.text);
    expect(created.id, `took client fields: ${res.text}`).not.toBe(forced.id);
    expect(created.created_at.startsWith("1970"), `took client fields: ${res.text}`).toBe(false);
    expect((await t.me(created.token)).role, "role taken from the body").toBe("user");
  });
});

describe("fields of the wrong type", () => {
  it("email as a number -> 400 invalid_input", async ({ t }) => {
    expectError(await t.post("/register", { ...newUser(), email: 42 }), 400, "invalid_input");
  });

  it("email as an array at /login -> 400 invalid_input", async ({ t }) => {
    expectError(await t.post("/login", { email: [newUser().email], password: "x-1234567" }), 400, "invalid_input");
  });

  it('password as {"$gt":""} at /login -> 400 invalid_input', async ({ t }) => {
    expectError(await t.post("/login", { email: newUser().email, password: { $gt: "" } }), 400, "invalid_input");
  });

  it("firstName as an object -> 400 invalid_input, nothing written", async ({ t }) => {
    const user = newUser();
    expectError(await t.post("/register", { ...user, firstName: { first: "x" } }), 400, "invalid_input");
    await t.expectRegistrable(user.email);
  });

  it("password as true -> 400 invalid_input", async ({ t }) => {
    expectError(await t.post("/register", { ...newUser(), password: true }), 400, "invalid_input");
  });

  it("refresh_token as a number -> 400 invalid_input", async ({ t }) => {
    expectError(await t.post("/token/refresh", { refresh_token: 12345 }), 400, "invalid_input");
  });

  it("a null field -> 400 invalid_input (All input is required)", async ({ t }) => {
    const error = expectError(await t.post("/register", { ...newUser(), lastName: null }), 400, "invalid_input");
    expect(error.message).toBe("All input is required");
  });
});
