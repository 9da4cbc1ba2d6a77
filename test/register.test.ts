import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { errorOf, newUser, postJson, SIGNED_IN_FIELDS, uniqueEmail } from "./helpers";

describe("POST /register", () => {
  it("creates the user and answers 201 with the user and a token, never a password or hash", async () => {
    const input = newUser({ email: uniqueEmail("New") });
    const res = await postJson("/register", input);
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    const body = JSON.parse(text);
    expect(Object.keys(body)).toEqual(SIGNED_IN_FIELDS);
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(body).toMatchObject({ first_name: "Ada", last_name: "Lovelace", email: input.email.toLowerCase() });
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    expect(text).not.toMatch(/password|\$2[aby]\$/i);
  });

  it("stores a bcrypt hash at BCRYPT_COST and a normalized email", async () => {
    const input = newUser({ email: `  ${uniqueEmail("MiXeD")}  ` });
    const res = await postJson("/register", input, {}, { BCRYPT_COST: "10" });
    expect(res.status).toBe(201);
    const row = await env.DB.prepare("select email, password_hash from users where email = ?")
      .bind(input.email.trim().toLowerCase())
      .first<{ email: string; password_hash: string }>();
    expect(row?.password_hash).toMatch(/^\$2b\$10\$/);
    expect(row?.password_hash).not.toContain(input.password);
  });

  it("trims names and accepts any Unicode", async () => {
    const res = await postJson("/register", newUser({ firstName: "  Zoë ", lastName: " 李 " }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ first_name: "Zoë", last_name: "李" });
  });

  it.each(["firstName", "lastName", "email", "password"])(
    "answers 400 'All input is required' without %s",
    async (field) => {
      const input: Record<string, unknown> = newUser();
      delete input[field];
      const res = await postJson("/register", input);
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "All input is required" });
    },
  );

  it.each([
    ["an empty string", ""],
    ["only spaces", "   "],
    ["null", null],
  ])("treats %s as a missing field", async (_label, value) => {
    const res = await postJson("/register", newUser({ lastName: value }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "All input is required" });
  });

  it.each([
    ["a number", 42],
    ["an array", ["a@example.com"]],
    ["an operator object", { $gt: "" }],
    ["a boolean", true],
  ])("refuses %s where a string belongs with 400 and writes nothing", async (_label, value) => {
    for (const field of ["email", "password", "firstName"]) {
      const input = newUser({ [field]: value });
      const res = await postJson("/register", input);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    }
    const count = await env.DB.prepare("select count(*) as n from users where email like '%[object%'").first<{
      n: number;
    }>();
    expect(count?.n).toBe(0);
  });

  it.each(["not-an-email", "a@", "@example.com", "a b@example.com", `${"a".repeat(250)}@example.com`])(
    "refuses the malformed email %s",
    async (email) => {
      const res = await postJson("/register", newUser({ email }));
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    },
  );

  it.each([
    ["a control character", "Ada\u0000"],
    ["a line break", "Ada\r\nSet-Cookie: x"],
    ["a lone surrogate", "Ada\ud800"],
  ])("refuses a name with %s", async (_label, firstName) => {
    const res = await postJson("/register", newUser({ firstName }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "firstName must be plain text" });
  });

  it("refuses names over 100 characters", async () => {
    const res = await postJson("/register", newUser({ firstName: "x".repeat(101) }));
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "firstName must be at most 100 characters" });
  });

  describe("password length: at least 8 characters, at most 72 bytes of UTF-8, both of the NFC form", () => {
    it.each([
      ["8 ASCII characters", "a".repeat(8)],
      ["72 ASCII bytes", "a".repeat(72)],
      ["36 two-byte letters (72 bytes)", "é".repeat(36)],
      ["8 emoji (8 characters, 32 bytes)", "🔑".repeat(8)],
      ["36 decomposed é (72 code points, 108 bytes as sent, 72 bytes in NFC)", "e\u0301".repeat(36)],
    ])("accepts %s", async (_label, password) => {
      expect((await postJson("/register", newUser({ password }))).status).toBe(201);
    });

    it.each([
      ["7 characters", "a".repeat(7)],
      ["2 emoji (8 bytes, 2 characters)", "🔑🔑"],
      ["4 two-byte letters (8 bytes, 4 characters)", "éééé"],
      ["4 decomposed é (8 code points as sent, 4 in NFC)", "e\u0301".repeat(4)],
      ["7 characters that each take two UTF-16 units", "𝒜".repeat(7)],
    ])("refuses %s: fewer than 8 characters", async (_label, password) => {
      const res = await postJson("/register", newUser({ password }));
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "password must be at least 8 characters" });
    });

    it.each([
      ["73 ASCII bytes", "a".repeat(73)],
      ["37 two-byte letters (74 bytes, 37 characters)", "é".repeat(37)],
      ["19 emoji (76 bytes)", "🙌".repeat(19)],
    ])("refuses %s with a clear message instead of truncating", async (_label, password) => {
      const res = await postJson("/register", newUser({ password }));
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe("invalid_input");
      expect(error.message).toMatch(/at most 72 bytes of UTF-8 .*refused rather than cut/);
    });
  });

  it("answers 409 'User Already Exist. Please Login' for an email registered in any letter case", async () => {
    const email = uniqueEmail("dup");
    expect((await postJson("/register", newUser({ email }))).status).toBe(201);
    for (const variant of [email, email.toUpperCase(), ` ${email.replace("dup", "DuP")} `]) {
      const res = await postJson("/register", newUser({ email: variant }));
      expect(res.status).toBe(409);
      expect(await errorOf(res)).toEqual({ code: "user_exists", message: "User Already Exist. Please Login" });
    }
    const count = await env.DB.prepare("select count(*) as n from users where email = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it("lets exactly one of 20 simultaneous registrations of one email win; the rest get 409, never 500", async () => {
    const email = uniqueEmail("race");
    const responses = await Promise.all(Array.from({ length: 20 }, () => postJson("/register", newUser({ email }))));
    const statuses = responses.map((res) => res.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    const count = await env.DB.prepare("select count(*) as n from users where email = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it("ignores unknown fields such as id or password_hash", async () => {
    const input = newUser({
      id: "00000000-0000-4000-8000-000000000000",
      password_hash: "$2b$04$forged",
      created_at: 0,
    });
    const res = await postJson("/register", input);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string };
    expect(body.id).not.toBe(input.id);
    const row = await env.DB.prepare("select password_hash from users where id = ?")
      .bind(body.id)
      .first<{ password_hash: string }>();
    expect(row?.password_hash).not.toBe("$2b$04$forged");
  });
});
