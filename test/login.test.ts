import { env } from "cloudflare:workers";
import { compare, hash } from "bcryptjs";
import { describe, expect, it } from "vitest";
import { errorOf, postJson, registered, SIGNED_IN_FIELDS, send, uniqueEmail } from "./helpers";

describe("POST /login", () => {
  it("answers 200 with the user and a fresh token, never a password or hash", async () => {
    const { input, body: created } = await registered();
    const res = await postJson("/login", { email: input.email, password: input.password });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    const body = JSON.parse(text);
    expect(Object.keys(body)).toEqual(SIGNED_IN_FIELDS);
    expect(body).toMatchObject({ id: created.id, email: input.email, created_at: created.created_at });
    expect(text).not.toMatch(/password|\$2[aby]\$/i);
  });

  it("finds the account whatever the letter case and surrounding spaces of the email", async () => {
    const { input } = await registered({ email: uniqueEmail("CaSe") });
    for (const email of [input.email.toUpperCase(), `  ${input.email}\t`, input.email.toLowerCase()]) {
      const res = await postJson("/login", { email, password: input.password });
      expect(res.status).toBe(200);
    }
  });

  it("answers byte-identical 400 'Invalid Credentials' for an unknown email and a wrong password", async () => {
    const { input } = await registered();
    const unknown = await postJson("/login", { email: uniqueEmail("nobody"), password: input.password });
    const wrong = await postJson("/login", { email: input.email, password: `${input.password}!` });
    expect(unknown.status).toBe(400);
    expect(wrong.status).toBe(400);
    const unknownText = await unknown.text();
    expect(unknownText).toBe(await wrong.text());
    expect(JSON.parse(unknownText)).toEqual({ error: { code: "invalid_credentials", message: "Invalid Credentials" } });
  });

  it("does not accept a password that only matches in its first 72 bytes", async () => {
    const password = "p".repeat(72);
    const { input } = await registered({ password });
    const res = await postJson("/login", { email: input.email, password: `${password}extra` });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_credentials");
  });

  it("treats an oversized email as unknown rather than an error", async () => {
    const res = await postJson("/login", { email: `${"a".repeat(300)}@example.com`, password: "whatever1" });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_credentials");
  });

  it.each(["email", "password"])("answers 400 'All input is required' without %s", async (field) => {
    const input: Record<string, unknown> = { email: uniqueEmail(), password: "whatever1" };
    delete input[field];
    const res = await postJson("/login", input);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "All input is required" });
  });

  it("refuses operator objects instead of passing them to the database", async () => {
    await registered();
    for (const email of [{ $ne: null }, { $gt: "" }, ["a@example.com"], 1]) {
      const res = await postJson("/login", { email, password: { $ne: null } });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    }
  });

  it("treats SQL and LIKE wildcards in the email as plain text", async () => {
    await registered();
    for (const email of ["%", "_%@example.com", "' OR '1'='1", "a@example.com'; DROP TABLE users; --"]) {
      const res = await postJson("/login", { email, password: "whatever1" });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_credentials");
    }
    const table = await env.DB.prepare("select count(*) as n from users").first<{ n: number }>();
    expect(table?.n).toBeGreaterThan(0);
  });

  it("issues a token that /welcome accepts", async () => {
    const { input } = await registered();
    const login = (await (await postJson("/login", { email: input.email, password: input.password })).json()) as {
      token: string;
    };
    const res = await postJson("/welcome", { token: login.token });
    expect(res.status).toBe(200);
  });
});

describe("Unicode passwords: NFC wherever a password is set or checked", () => {
  const PRECOMPOSED = "\u00c7\u00f6\u00f1f\u00efrm\u00e9-p\u00e4ssw\u00f6rd"; // Çöñfïrmé-pässwörd
  const DECOMPOSED = PRECOMPOSED.normalize("NFD");

  async function storedHash(id: string) {
    const row = await env.DB.prepare("select password_hash from users where id = ?")
      .bind(id)
      .first<{ password_hash: string }>();
    return row?.password_hash ?? "";
  }

  it.each([
    ["precomposed", PRECOMPOSED, DECOMPOSED],
    ["decomposed", DECOMPOSED, PRECOMPOSED],
  ])("logs in with either form after registering %s", async (_label, registeredAs, typed) => {
    expect(registeredAs).not.toBe(typed);
    const { input } = await registered({ password: registeredAs });
    for (const password of [typed, registeredAs]) {
      expect((await postJson("/login", { email: input.email, password })).status).toBe(200);
    }
  });

  it("changes the password and deletes the account with the other form, and the new password is NFC too", async () => {
    const { input, token } = await registered({ password: PRECOMPOSED });
    const next = "ne\u0301w-pa\u0308ssword"; // decomposed
    const changed = await send("POST", "/me/password", token, { currentPassword: DECOMPOSED, newPassword: next });
    expect(changed.status).toBe(200);
    const { token: fresh } = (await changed.json()) as { token: string };
    expect((await postJson("/login", { email: input.email, password: next.normalize("NFC") })).status).toBe(200);
    expect((await send("DELETE", "/me", fresh, { password: next.normalize("NFC") })).status).toBe(204);
  });

  it("keeps hashes made before normalization working from the form they were made of, and rehashes them to NFC", async () => {
    const { input, body } = await registered();
    // A hash from before this release, of the decomposed form exactly as a client sent it.
    await env.DB.prepare("update users set password_hash = ? where id = ?")
      .bind(await hash(DECOMPOSED, 4), body.id)
      .run();
    // The other form was never hashed: it cannot match yet.
    const early = await postJson("/login", { email: input.email, password: PRECOMPOSED });
    expect((await errorOf(early)).code).toBe("invalid_credentials");
    expect((await postJson("/login", { email: input.email, password: DECOMPOSED })).status).toBe(200);
    // Rehashed to NFC on that login: now both forms work.
    expect(await compare(PRECOMPOSED, await storedHash(body.id))).toBe(true);
    expect((await postJson("/login", { email: input.email, password: PRECOMPOSED })).status).toBe(200);
    expect((await postJson("/login", { email: input.email, password: DECOMPOSED })).status).toBe(200);
  });

  it("accepts an old decomposed hash at password change and account deletion too", async () => {
    const { body, token } = await registered();
    await env.DB.prepare("update users set password_hash = ? where id = ?")
      .bind(await hash(DECOMPOSED, 4), body.id)
      .run();
    expect((await send("DELETE", "/me", token, { password: PRECOMPOSED })).status).toBe(400);
    expect((await send("DELETE", "/me", token, { password: DECOMPOSED })).status).toBe(204);
  });
});
