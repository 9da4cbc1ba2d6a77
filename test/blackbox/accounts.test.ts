import { randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import { bearer, expectError, expectStatus, it, newUser } from "./helpers";

const precomposed = "\u00c7\u00f6\u00f1f\u00efrm\u00e9-p\u00e4ssw\u00f6rd";
const decomposed = precomposed.normalize("NFD");
/** A fresh local part for the internationalized-domain cases. */
const local = () => `hostile-${randomUUID().slice(0, 12)}`;

describe("Unicode passwords", () => {
  it('password "🔑🔑" (2 characters, 8 bytes) -> 400 "at least 8 characters", nothing written', async ({ t }) => {
    const user = { ...newUser(), password: "🔑🔑" };
    const error = expectError(await t.post("/register", user), 400, "invalid_input");
    expect(error.message).toBe("password must be at least 8 characters");
    await t.expectRegistrable(user.email);
  });

  it("password of 4 decomposed é (8 code points as sent, 4 in NFC) -> 400 invalid_input", async ({ t }) => {
    expectError(await t.post("/register", { ...newUser(), password: "e\u0301".repeat(4) }), 400, "invalid_input");
  });

  it("password of 19 emoji (76 bytes) -> 400 with the 72-byte message, never cut", async ({ t }) => {
    const error = expectError(
      await t.post("/register", { ...newUser(), password: "🙌".repeat(19) }),
      400,
      "invalid_input",
    );
    expect(error.message).toMatch(/at most 72 bytes/);
  });

  it("password registered precomposed logs in typed decomposed, and the other way round", async ({ t }) => {
    for (const [registeredAs, typed] of [
      [precomposed, decomposed],
      [decomposed, precomposed],
    ] as const) {
      const user = await t.register({ ...newUser(), password: registeredAs });
      expectStatus(await t.post("/login", { email: user.email, password: typed }), 200);
    }
  });

  it("password change and account deletion take the other Unicode form of the password", async ({ t }) => {
    const user = await t.register({ ...newUser(), password: precomposed });
    const changed = await t.request("POST", "/me/password", {
      headers: { ...bearer(user.token), "content-type": "application/json" },
      body: JSON.stringify({ currentPassword: decomposed, newPassword: `${decomposed}-2` }),
    });
    expectStatus(changed, 200);
    const { token } = JSON.parse(changed.text);
    const gone = await t.request("DELETE", "/me", {
      headers: { ...bearer(token), "content-type": "application/json" },
      body: JSON.stringify({ password: `${precomposed}-2` }),
    });
    expectStatus(gone, 204);
  });
});

describe("invisible and direction-flipping names", () => {
  for (const [label, value] of [
    ["only a zero-width space", "\u200b"],
    ["with a right-to-left override", "\u202eecilA"],
    ["with a left-to-right isolate", "\u2066Alice\u2069"],
    ["with a zero-width joiner alone", "\u200d"],
    ["with a byte order mark inside", "Al\ufeffice"],
    ["only a Hangul filler", "\u3164"],
    ["only a Braille blank", "\u2800"],
    ["only a combining accent", "\u0301"],
  ]) {
    it(`firstName ${label} at /register -> 400 invalid_input, nothing written`, async ({ t }) => {
      const user = { ...newUser(), firstName: value };
      expectError(await t.post("/register", user), 400, "invalid_input");
      await t.expectRegistrable(user.email);
    });
  }

  it("PATCH /me with an invisible or direction-flipping name -> 400, nothing changed", async ({ t }) => {
    const user = await t.register();
    for (const firstName of ["\u200b", "\u202eecilA", "\u2067x"]) {
      const res = await t.request("PATCH", "/me", {
        headers: { ...bearer(user.token), "content-type": "application/json" },
        body: JSON.stringify({ firstName }),
      });
      expectError(res, 400, "invalid_input");
    }
    expect((await t.me(user.token)).first_name, "the name changed").toBe(user.first_name);
  });

  it("a Persian name with a zero-width non-joiner inside a word is accepted", async ({ t }) => {
    expectStatus(await t.post("/register", { ...newUser(), firstName: "می\u200cخواهم" }), 201);
  });
});

describe("internationalized emails", () => {
  it("x@münchen.de registers, stored as x@xn--mnchen-3ya.de; the ASCII spelling is then a 409", async ({ t }) => {
    const name = local();
    const res = await t.post("/register", { ...newUser(), email: `${name}@münchen.de` });
    expectStatus(res, 201);
    expect(JSON.parse(res.text).email).toBe(`${name}@xn--mnchen-3ya.de`);
    expectError(await t.post("/register", { ...newUser(), email: `${name}@xn--mnchen-3ya.de` }), 409, "user_exists");
    expectError(await t.post("/register", { ...newUser(), email: `${name}@MÜNCHEN.DE` }), 409, "user_exists");
  });

  it("login works with either spelling of an internationalized domain", async ({ t }) => {
    const name = local();
    const user = await t.register({ ...newUser(), email: `${name}@xn--mnchen-3ya.de` });
    for (const email of [`${name}@münchen.de`, `${name}@xn--mnchen-3ya.de`, ` ${name.toUpperCase()}@MÜNCHEN.de `]) {
      const res = await t.post("/login", { email, password: user.password });
      expectStatus(res, 200);
      expect(JSON.parse(res.text).id, "another account").toBe(user.id);
    }
  });

  it("a non-ASCII local part (RFC 6531) -> 400 whose message says the part before @ must be ASCII", async ({ t }) => {
    const error = expectError(
      await t.post("/register", { ...newUser(), email: `jörg-${local()}@example.com` }),
      400,
      "invalid_input",
    );
    expect(error.message).toMatch(/before @ in ASCII/);
  });

  it("an internationalized domain with a zero-width space or an undecodable A-label -> 400 invalid_input", async ({
    t,
  }) => {
    for (const domain of ["mün\u200bchen.de", "xn--a.de", "mü%6echen.de"]) {
      expectError(await t.post("/register", { ...newUser(), email: `${local()}@${domain}` }), 400, "invalid_input");
    }
  });
});
