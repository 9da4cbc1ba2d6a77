import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { errorOf, postJson, registered, SIGNED_IN_FIELDS, uniqueEmail } from "./helpers";

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
