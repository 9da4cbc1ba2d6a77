import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  bearer,
  call,
  errorOf,
  loggedIn,
  newUser,
  postJson,
  refresh,
  registered,
  send,
  TOKEN_PAIR_FIELDS,
  type TokenPair,
} from "./helpers";

async function storedHash(id: string) {
  return (
    await env.DB.prepare("select password_hash from users where id = ?").bind(id).first<{ password_hash: string }>()
  )?.password_hash;
}

describe("GET /me", () => {
  it("answers the user without any hash", async () => {
    const { body, token } = await registered();
    const res = await call("/me", { headers: bearer(token) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      id: body.id,
      first_name: "Ada",
      last_name: "Lovelace",
      email: body.email,
      created_at: body.created_at,
      role: "user",
      disabled: false,
      email_verified: false,
      updated_at: body.created_at,
      mfa: { totp: false, passkeys: 0, recovery_codes: 0 },
    });
    expect(text).not.toMatch(/password|hash|\$2[aby]\$/i);
  });

  it("accepts x-access-token but not body or query tokens", async () => {
    const { token } = await registered();
    expect((await call("/me", { headers: { "x-access-token": token } })).status).toBe(200);
    expect((await call(`/me?token=${token}`, {}, { ALLOW_QUERY_TOKEN: "true" })).status).toBe(403);
  });
});

describe("PATCH /me", () => {
  it("changes names with register's validation and ignores email, role and id", async () => {
    const { body, token } = await registered();
    const res = await send("PATCH", "/me", token, {
      firstName: "  Augusta ",
      email: "attacker@example.com",
      role: "admin",
      id: "00000000-0000-4000-8000-000000000000",
      isAdmin: true,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: body.id,
      first_name: "Augusta",
      last_name: "Lovelace",
      email: body.email,
    });
    const row = await env.DB.prepare("select email, first_name from users where id = ?").bind(body.id).first();
    expect(row).toEqual({ email: body.email, first_name: "Augusta" });
  });

  it.each([
    [{ firstName: "" }, "All input is required"],
    [{ lastName: "x".repeat(101) }, "lastName must be at most 100 characters"],
    [{ firstName: 7 }, "firstName must be a string"],
    [{ firstName: "A\u0000" }, "firstName must be plain text"],
    [{}, "Nothing to update: send firstName and/or lastName"],
    [{ email: "new@example.com" }, "Nothing to update: send firstName and/or lastName"],
  ])("refuses %j with 400 and changes nothing", async (patch, message) => {
    const { body, token } = await registered();
    const res = await send("PATCH", "/me", token, patch);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message });
    const row = await env.DB.prepare("select first_name, last_name, email from users where id = ?")
      .bind(body.id)
      .first();
    expect(row).toEqual({ first_name: "Ada", last_name: "Lovelace", email: body.email });
  });
});

describe("POST /me/password", () => {
  it("refuses a wrong current password with 400 invalid_credentials", async () => {
    const { token } = await registered();
    const res = await send("POST", "/me/password", token, {
      currentPassword: "not-it-at-all",
      newPassword: "brand-new-pass",
    });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_credentials", message: "Invalid Credentials" });
  });

  it("applies the register password policy to the new password", async () => {
    const { input, token } = await registered();
    for (const newPassword of ["short", "x".repeat(73)]) {
      const res = await send("POST", "/me/password", token, { currentPassword: input.password, newPassword });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    }
  });

  it("changes the password, revokes every other session and returns a fresh pair for this one", async () => {
    const { input, token, refreshToken } = await registered();
    const other = await loggedIn(input);
    const res = await send("POST", "/me/password", token, {
      currentPassword: input.password,
      newPassword: "brand-new-pass",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const pair = (await res.json()) as TokenPair;
    expect(Object.keys(pair).sort()).toEqual(TOKEN_PAIR_FIELDS);

    expect((await call("/me", { headers: bearer(pair.token) })).status).toBe(200);
    expect((await call("/me", { headers: bearer(other.token) })).status).toBe(401);
    expect((await refresh(other.refresh_token)).status).toBe(401);
    expect((await refresh(pair.refresh_token)).status).toBe(200);
    // The pre-change refresh token of this session was rotated away.
    expect((await refresh(refreshToken)).status).toBe(401);

    expect((await postJson("/login", { email: input.email, password: input.password })).status).toBe(400);
    expect((await postJson("/login", { email: input.email, password: "brand-new-pass" })).status).toBe(200);
  });
});

describe("DELETE /me", () => {
  it.each([{}, { password: "" }, { password: null }])(
    "needs the password: %j is 400 All input is required, and deletes nothing",
    async (sent) => {
      const { body, token } = await registered();
      const res = await send("DELETE", "/me", token, sent);
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "All input is required" });
      expect(await env.DB.prepare("select id from users where id = ?").bind(body.id).first()).not.toBeNull();
    },
  );

  it("refuses a wrong password and deletes nothing", async () => {
    const { body, token } = await registered();
    const res = await send("DELETE", "/me", token, { password: "wrong-password" });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_credentials");
    expect(await env.DB.prepare("select id from users where id = ?").bind(body.id).first()).not.toBeNull();
  });

  it("deletes the user and every session; the tokens stop working; the email can register again", async () => {
    const { input, body, token, refreshToken } = await registered();
    const other = await loggedIn(input);
    const res = await send("DELETE", "/me", token, { password: input.password });
    expect(res.status).toBe(204);
    const left = await env.DB.prepare("select count(*) as n from sessions where user_id = ?")
      .bind(body.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    for (const access of [token, other.token]) {
      expect((await call("/me", { headers: bearer(access) })).status).toBe(401);
      expect((await call("/sessions", { headers: bearer(access) })).status).toBe(401);
    }
    expect((await refresh(refreshToken)).status).toBe(401);
    expect((await postJson("/login", { email: input.email, password: input.password })).status).toBe(400);
    expect((await postJson("/register", input)).status).toBe(201);
  });

  it("cascades in the schema: deleting a user row removes its sessions", async () => {
    const { body } = await registered();
    await env.DB.prepare("delete from users where id = ?").bind(body.id).run();
    const left = await env.DB.prepare("select count(*) as n from sessions where user_id = ?")
      .bind(body.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("bcrypt rehash at login", () => {
  it("rehashes a hash made at another cost on a successful login, and only then", async () => {
    const input = newUser();
    const created = await postJson("/register", input, {}, { BCRYPT_COST: "5" });
    const { id } = (await created.json()) as { id: string };
    expect(await storedHash(id)).toMatch(/^\$2b\$05\$/);

    await postJson("/login", { email: input.email, password: "wrong-password" });
    expect(await storedHash(id)).toMatch(/^\$2b\$05\$/);

    expect((await postJson("/login", { email: input.email, password: input.password })).status).toBe(200);
    const upgraded = await storedHash(id);
    expect(upgraded).toMatch(/^\$2b\$04\$/);

    await postJson("/login", { email: input.email, password: input.password });
    expect(await storedHash(id)).toBe(upgraded);
  });
});

describe("secrets in responses", () => {
  it("no response of the session and account routes contains a password hash or refresh-token hash", async () => {
    const { input, body, token, refreshToken } = await registered();
    const hashes = [
      await storedHash(body.id),
      ...(
        await env.DB.prepare("select refresh_token_hash as h from sessions where user_id = ?")
          .bind(body.id)
          .all<{ h: string }>()
      ).results.map((row) => row.h),
    ];
    const pair = (await (await refresh(refreshToken)).json()) as TokenPair;
    const texts = await Promise.all(
      [
        await postJson("/login", { email: input.email, password: input.password }),
        await call("/me", { headers: bearer(pair.token) }),
        await call("/sessions", { headers: bearer(pair.token) }),
        await send("PATCH", "/me", pair.token, { lastName: "Byron" }),
        await send("POST", "/me/password", pair.token, {
          currentPassword: input.password,
          newPassword: "another-pass-1",
        }),
      ].map((res) => res.text()),
    );
    for (const text of texts) {
      expect(text).not.toMatch(/\$2[aby]\$|password_hash|refresh_token_hash/);
      for (const hash of hashes) expect(text).not.toContain(hash);
    }
    expect(token).toBeTruthy();
  });
});
