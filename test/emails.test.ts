import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { canonicalEmail } from "../src/platform/fields";
import { errorOf, newUser, postJson } from "./helpers";

const INVALID =
  "email must be a valid email address: the part before @ in ASCII letters, digits and . _ ' + -, the domain in any script";

/** A fresh local part, so every test has addresses of its own. */
const local = () => `x-${crypto.randomUUID().slice(0, 8)}`;

async function register(email: string) {
  return postJson("/register", newUser({ email }));
}

describe("internationalized email domains", () => {
  it("accepts x@münchen.de and stores the domain in its ASCII form", async () => {
    const name = local();
    const res = await register(`${name}@münchen.de`);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { email: string }).email).toBe(`${name}@xn--mnchen-3ya.de`);
  });

  it("treats every spelling of one internationalized address as one account: 409, and login with any", async () => {
    const name = local();
    const created = await register(`${name}@münchen.de`);
    const { id } = (await created.json()) as { id: string };
    const spellings = [
      `${name}@xn--mnchen-3ya.de`,
      `${name}@XN--MNCHEN-3YA.DE`,
      `${name.toUpperCase()}@MÜNCHEN.DE`,
      `${name}@mu\u0308nchen.de`, // decomposed ü
      `${name}@ｍüｎｃｈｅｎ.ｄｅ`, // fullwidth letters
      `${name}@münchen\u3002de`, // ideographic full stop
      ` ${name}@münchen.de `,
    ];
    for (const email of spellings) {
      const again = await register(email);
      expect(again.status, email).toBe(409);
      expect((await errorOf(again)).code).toBe("user_exists");
      const login = await postJson("/login", { email, password: newUser().password });
      expect(login.status, email).toBe(200);
      expect(((await login.json()) as { id: string }).id).toBe(id);
    }
    const count = await env.DB.prepare("select count(*) as n from users where email like ?")
      .bind(`${name}@%`)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it("registers the ASCII form first just the same: the Unicode spelling is then a 409", async () => {
    const name = local();
    expect((await register(`${name}@xn--mnchen-3ya.de`)).status).toBe(201);
    expect((await register(`${name}@münchen.de`)).status).toBe(409);
  });

  it.each([
    ["an internationalized top-level domain", "пример.рф", "xn--e1afmkfd.xn--p1ai"],
    ["a Chinese domain", "例子.中国", "xn--fsqu00a.xn--fiqs8s"],
    ["a German sharp s (IDNA 2008, not mapped to ss)", "faß.de", "xn--fa-hia.de"],
  ])("accepts %s", async (_label, domain, ascii) => {
    const name = local();
    const res = await register(`${name}@${domain}`);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { email: string }).email).toBe(`${name}@${ascii}`);
  });

  it("keeps look-alike domains apart: Cyrillic е in example.com is another address", async () => {
    const name = local();
    expect((await register(`${name}@example.com`)).status).toBe(201);
    const res = await register(`${name}@\u0435xample.com`);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { email: string }).email).toMatch(new RegExp(`^${name}@xn--`));
  });

  it.each([
    ["a non-ASCII local part (RFC 6531)", "jörg@example.com"],
    ["a non-ASCII local part on an internationalized domain", "jörg@münchen.de"],
    ["an A-label that does not decode", "x@xn--a.de"],
    ["an empty A-label", "x@xn--.de"],
    ["a zero-width space in the domain", "x@mün\u200bchen.de"],
    ["a soft hyphen in the domain", "x@mün\u00adchen.de"],
    ["a right-to-left override in the domain", "x@\u202emünchen.de"],
    ["a percent escape in an internationalized domain", "x@mü%6echen.de"],
    ["a slash in an internationalized domain", "x@münchen.de/x"],
    ["a port", "x@münchen.de:25"],
    ["no top-level domain", "x@münchen"],
    ["an empty label", "x@mü..de"],
    ["digits that map to an IPv4 address", "x@１２３.４５"],
    ["an IPv6 literal", "x@[::1]"],
  ])("refuses %s with 400 saying what is accepted", async (_label, email) => {
    const res = await register(email);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message: INVALID });
  });

  it("answers a login with an address that has no valid form like any unknown email", async () => {
    for (const email of ["x@xn--a.de", "jörg@münchen.de", "x@mün\u200bchen.de", "x@\u0661\u0662.de"]) {
      const res = await postJson("/login", { email, password: "whatever-1" });
      expect(res.status, email).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_credentials");
    }
  });

  it("leaves ASCII addresses as they always were", () => {
    for (const email of ["ada@example.com", "a.b+tag@sub.example.co.uk", "x@123.example"]) {
      expect(canonicalEmail(email)).toBe(email);
    }
    expect(canonicalEmail("x@xn--mnchen-3ya.de")).toBe("x@xn--mnchen-3ya.de");
    expect(canonicalEmail("x@münchen.de")).toBe("x@xn--mnchen-3ya.de");
    expect(canonicalEmail("x@xn--a.de")).toBeUndefined();
  });
});
