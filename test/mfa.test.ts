import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  auditRowsOf,
  bearer,
  call,
  claimsOf,
  errorOf,
  fromFreshAddress,
  type Json,
  postJson,
  promote,
  registered,
  roundTripsOf,
  SIGNED_IN_FIELDS,
  send,
} from "./helpers";
import { at, atStepMiddle, codeAt, enrolling, mfaToken, START, withTotp } from "./totp";

// Every test runs at a fixed time in the middle of a 30-second step, so "the previous
// step" and "two steps off" never straddle a boundary while a test runs.
atStepMiddle();
// Each test from its own address: together they would pass the per-IP login limit,
// which the signed-in code and password re-checks count against too.
beforeEach(fromFreshAddress);

function loginMfa(body: Json, overrides: Partial<Cloudflare.Env> = {}) {
  return postJson("/login/mfa", body, {}, overrides);
}

async function me(token: string) {
  return (await (await send("GET", "/me", token)).json()) as Json & { mfa: Json };
}

describe("TOTP enrolment", () => {
  it("answers a 160-bit base32 secret, its otpauth URI and an SVG QR code, and re-checks the password", async () => {
    const user = await enrolling();
    expect(user.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(user.otpauth_uri);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe(`/edge-auth-api:${user.input.email}`);
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret: user.secret,
      issuer: "edge-auth-api",
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
    expect(user.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    const wrong = await send("POST", "/me/mfa/totp", user.token, { password: "not the password" });
    expect(wrong.status).toBe(400);
    expect((await errorOf(wrong)).code).toBe("invalid_credentials");
  });

  it("stores the secret encrypted, never in the clear", async () => {
    const user = await enrolling();
    const row = await env.DB.prepare("select secret_ciphertext from totp_factors where user_id = ?")
      .bind(user.body.id)
      .first<{ secret_ciphertext: string }>();
    expect(row?.secret_ciphertext).toBeTruthy();
    expect(row?.secret_ciphertext).not.toContain(user.secret);
  });

  it("is not required at login until confirmed, and /me shows it only then", async () => {
    const user = await enrolling();
    expect((await me(user.token)).mfa).toEqual({ totp: false, passkeys: 0, recovery_codes: 0 });
    const plain = await postJson("/login", { email: user.input.email, password: user.input.password });
    expect(plain.status).toBe(200);
    const wrong = await send("POST", "/me/mfa/totp/confirm", user.token, { code: codeAt(user.secret, at(-60)) });
    expect(wrong.status).toBe(400);
    expect((await errorOf(wrong)).code).toBe("invalid_credentials");
    const res = await send("POST", "/me/mfa/totp/confirm", user.token, { code: codeAt(user.secret, at(0)) });
    expect(res.status).toBe(200);
    const { recovery_codes } = (await res.json()) as { recovery_codes: string[] };
    expect(recovery_codes).toHaveLength(10);
    expect(new Set(recovery_codes).size).toBe(10);
    for (const code of recovery_codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){2}$/);
    expect((await me(user.token)).mfa).toEqual({ totp: true, passkeys: 0, recovery_codes: 10 });
    const again = await send("POST", "/me/mfa/totp", user.token, { password: user.input.password });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("mfa_already_enabled");
  });

  it("refuses a confirm with nothing enrolled", async () => {
    const user = await registered();
    const res = await send("POST", "/me/mfa/totp/confirm", user.token, { code: "123456" });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_input");
  });
});

describe("login with TOTP", () => {
  it("answers 403 mfa_required with an mfa_token and the methods, and no token", async () => {
    const user = await withTotp();
    const res = await postJson("/login", { email: user.input.email, password: user.input.password });
    expect(res.status).toBe(403);
    const body = (await res.json()) as Json;
    expect(body.error).toEqual({ code: "mfa_required", message: expect.any(String) });
    expect(body.mfa_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.mfa_methods).toEqual(["totp", "recovery_code"]);
    expect(body).not.toHaveProperty("token");
    expect(body).not.toHaveProperty("refresh_token");
  });

  it("answers a wrong password exactly as for an account without MFA", async () => {
    const user = await withTotp();
    const res = await postJson("/login", { email: user.input.email, password: "wrong password" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "invalid_credentials", message: "Invalid Credentials" } });
  });

  it("signs in with the current code: the /login body, amr pwd+otp+mfa, a live session", async () => {
    const user = await withTotp();
    const res = await loginMfa({ mfa_token: await mfaToken(user.input), code: codeAt(user.secret, at(0)) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json & { token: string };
    expect(Object.keys(body).sort()).toEqual([...SIGNED_IN_FIELDS].sort());
    expect(claimsOf(body.token).amr).toEqual(["pwd", "otp", "mfa"]);
    expect((await send("GET", "/me", body.token)).status).toBe(200);
    // Every refresh of the session carries the login's amr on, and so does a password change.
    const refreshed = await postJson("/token/refresh", { refresh_token: body.refresh_token });
    const pair = (await refreshed.json()) as { token: string; refresh_token: string };
    expect(claimsOf(pair.token).amr).toEqual(["pwd", "otp", "mfa"]);
    const again = (await (await postJson("/token/refresh", { refresh_token: pair.refresh_token })).json()) as {
      token: string;
    };
    expect(claimsOf(again.token).amr).toEqual(["pwd", "otp", "mfa"]);
    const changed = await send("POST", "/me/password", again.token, {
      currentPassword: user.input.password,
      newPassword: "another long passphrase 7",
    });
    expect(claimsOf(((await changed.json()) as { token: string }).token).amr).toEqual(["pwd", "otp", "mfa"]);
  });

  it("delivers the refresh token in the HttpOnly cookie when asked, like POST /login", async () => {
    const user = await withTotp();
    const res = await loginMfa({
      mfa_token: await mfaToken(user.input),
      code: codeAt(user.secret, at(0)),
      refresh_transport: "cookie",
    });
    expect(res.status).toBe(200);
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(/^__Secure-refresh_token=[\w-]+; .*HttpOnly/);
    const body = (await res.json()) as Json;
    expect(body.refresh_token).toBeUndefined();
    expect(typeof body.token).toBe("string");
  });

  it("accepts the previous and the next step, refuses two steps off", async () => {
    const user = await withTotp();
    const token = await mfaToken(user.input, { LOCKOUT_AFTER: "100" });
    for (const offset of [-60, 60]) {
      const res = await loginMfa({ mfa_token: token, code: codeAt(user.secret, at(offset)) });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_credentials");
    }
    expect((await loginMfa({ mfa_token: token, code: codeAt(user.secret, at(30)) })).status).toBe(200);

    // withTotp's confirm spent the step before START; 30 s later, START's step is the previous one.
    const fresh = await withTotp();
    vi.setSystemTime(START + 30_000);
    const previous = await loginMfa({ mfa_token: await mfaToken(fresh.input), code: codeAt(fresh.secret, at(-30)) });
    expect(previous.status).toBe(200);
  });

  it("refuses a code whose time step was already used (replay), even with a new mfa_token", async () => {
    const user = await withTotp();
    const code = codeAt(user.secret, at(0));
    expect((await loginMfa({ mfa_token: await mfaToken(user.input), code })).status).toBe(200);
    const replay = await loginMfa({ mfa_token: await mfaToken(user.input), code });
    expect(replay.status).toBe(400);
    expect((await errorOf(replay)).code).toBe("invalid_credentials");
    // An earlier step than the last one used is refused too.
    const earlier = await loginMfa({ mfa_token: await mfaToken(user.input), code: codeAt(user.secret, at(-30)) });
    expect(earlier.status).toBe(400);
  });

  it("lets two logins race with one code: exactly one wins", async () => {
    const user = await withTotp();
    const code = codeAt(user.secret, at(0));
    const [a, b] = [await mfaToken(user.input), await mfaToken(user.input)];
    const results = await Promise.all([loginMfa({ mfa_token: a, code }), loginMfa({ mfa_token: b, code })]);
    expect(results.map((res) => res.status).sort()).toEqual([200, 400]);
  });

  it("makes four D1 round trips: one batched read, the step, the token, the session", async () => {
    const user = await withTotp();
    const body = { mfa_token: await mfaToken(user.input), code: codeAt(user.secret, at(0)) };
    const { res, roundTrips } = await roundTripsOf((b) => loginMfa(body, b));
    expect(res.status).toBe(200);
    expect(roundTrips).toBe(4);
  });

  it("uses an mfa_token once", async () => {
    const user = await withTotp();
    const token = await mfaToken(user.input);
    expect((await loginMfa({ mfa_token: token, code: codeAt(user.secret, at(0)) })).status).toBe(200);
    const again = await loginMfa({ mfa_token: token, code: codeAt(user.secret, at(30)) });
    expect(again.status).toBe(400);
    expect((await errorOf(again)).code).toBe("invalid_credentials");
  });

  it("kills an mfa_token after 5 wrong codes", async () => {
    const user = await withTotp();
    const overrides = { LOCKOUT_AFTER: "100" };
    const token = await mfaToken(user.input, overrides);
    for (let i = 0; i < 5; i++) {
      expect((await loginMfa({ mfa_token: token, code: "000000" }, overrides)).status).toBe(400);
    }
    const right = await loginMfa({ mfa_token: token, code: codeAt(user.secret, at(0)) }, overrides);
    expect(right.status).toBe(400);
    expect((await errorOf(right)).code).toBe("invalid_credentials");
  });

  it("gives a burst of concurrent wrong codes no more than 5 tries of an mfa_token", async () => {
    const user = await withTotp();
    const overrides = { LOCKOUT_AFTER: "100" };
    const token = await mfaToken(user.input, overrides);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => loginMfa({ mfa_token: token, code: "000000" }, overrides)),
    );
    expect(answers.map((res) => res.status)).toEqual(Array(8).fill(400));
    const checked = (await auditRowsOf(String(user.body.id))).filter(({ type }) => type === "mfa_failed");
    expect(checked).toHaveLength(5);
    const right = await loginMfa({ mfa_token: token, code: codeAt(user.secret, at(0)) }, overrides);
    expect((await errorOf(right)).code).toBe("invalid_credentials");
  });

  it("lets an mfa_token expire after 5 minutes", async () => {
    const user = await withTotp();
    const token = await mfaToken(user.input);
    vi.setSystemTime(START + 301_000);
    const res = await loginMfa({ mfa_token: token, code: codeAt(user.secret, at(0)) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_credentials");
  });

  it("counts wrong codes toward the account's lockout", async () => {
    const user = await withTotp();
    const token = await mfaToken(user.input);
    for (let i = 0; i < 5; i++) await loginMfa({ mfa_token: token, code: "000000" });
    const login = await postJson("/login", { email: user.input.email, password: user.input.password });
    expect(login.status).toBe(429);
    expect((await errorOf(login)).code).toBe("rate_limited");
  });

  it("refuses a body with no answer, two answers, or an mfa_token that is not one", async () => {
    const user = await withTotp();
    const token = await mfaToken(user.input);
    for (const body of [{ mfa_token: token }, { mfa_token: token, code: "123456", recovery_code: "AAAA-BBBB-CCCC" }]) {
      const res = await loginMfa(body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    }
    for (const mfa_token of ["not a token!", "A".repeat(43)]) {
      const res = await loginMfa({ mfa_token, code: codeAt(user.secret, at(0)) });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_credentials");
    }
  });
});

describe("recovery codes", () => {
  it("each work once, in any case and without dashes", async () => {
    const user = await withTotp();
    const [first = "", second = ""] = user.recoveryCodes;
    const res = await loginMfa({ mfa_token: await mfaToken(user.input), recovery_code: first });
    expect(res.status).toBe(200);
    expect(claimsOf(((await res.json()) as { token: string }).token).amr).toEqual(["pwd", "otp", "mfa"]);
    const again = await loginMfa({ mfa_token: await mfaToken(user.input), recovery_code: first });
    expect(again.status).toBe(400);
    const loose = second.replace(/-/g, "").toLowerCase();
    expect((await loginMfa({ mfa_token: await mfaToken(user.input), recovery_code: loose })).status).toBe(200);
    expect((await me(user.token)).mfa).toEqual({ totp: true, passkeys: 0, recovery_codes: 8 });
  });

  it("are stored hashed", async () => {
    const user = await withTotp();
    const { results } = await env.DB.prepare("select code_hash from recovery_codes where user_id = ?")
      .bind(user.body.id)
      .all<{ code_hash: string }>();
    expect(results).toHaveLength(10);
    for (const { code_hash } of results) expect(code_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("regenerate with a TOTP code; the old ones die", async () => {
    const user = await withTotp();
    const wrong = await send("POST", "/me/mfa/recovery-codes", user.token, { code: "000000" });
    expect(wrong.status).toBe(400);
    const res = await send("POST", "/me/mfa/recovery-codes", user.token, { code: codeAt(user.secret, at(0)) });
    expect(res.status).toBe(200);
    const { recovery_codes } = (await res.json()) as { recovery_codes: string[] };
    expect(recovery_codes).toHaveLength(10);
    const old = await loginMfa({ mfa_token: await mfaToken(user.input), recovery_code: user.recoveryCodes[0] });
    expect(old.status).toBe(400);
    const fresh = await loginMfa({ mfa_token: await mfaToken(user.input), recovery_code: recovery_codes[0] });
    expect(fresh.status).toBe(200);
  });
});

describe("disabling TOTP", () => {
  it("needs the password and a code, then login is one step again", async () => {
    const user = await withTotp();
    const noCode = await send("DELETE", "/me/mfa/totp", user.token, {
      password: user.input.password,
      code: "000000",
    });
    expect(noCode.status).toBe(400);
    const noPassword = await send("DELETE", "/me/mfa/totp", user.token, {
      password: "wrong password",
      code: codeAt(user.secret, at(0)),
    });
    expect(noPassword.status).toBe(400);
    const res = await send("DELETE", "/me/mfa/totp", user.token, {
      password: user.input.password,
      code: codeAt(user.secret, at(0)),
    });
    expect(res.status).toBe(204);
    expect((await me(user.token)).mfa).toEqual({ totp: false, passkeys: 0, recovery_codes: 0 });
    const login = await postJson("/login", { email: user.input.email, password: user.input.password });
    expect(login.status).toBe(200);
    expect(claimsOf(((await login.json()) as { token: string }).token).amr).toEqual(["pwd"]);
    const again = await send("DELETE", "/me/mfa/totp", user.token, {
      password: user.input.password,
      code: codeAt(user.secret, at(30)),
    });
    expect(again.status).toBe(404);
    expect((await errorOf(again)).code).toBe("not_found");
  });
});

describe("admin", () => {
  it("shows factor counts and removes every factor of a user", async () => {
    const admin = await registered();
    await promote(admin.body.id);
    const user = await withTotp();
    const shown = await send("GET", `/admin/users/${user.body.id}`, admin.token);
    expect(((await shown.json()) as { mfa: Json }).mfa).toEqual({ totp: true, passkeys: 0, recovery_codes: 10 });
    const forbidden = await call(`/admin/users/${user.body.id}/mfa`, { method: "DELETE", headers: bearer(user.token) });
    expect(forbidden.status).toBe(403);
    const res = await call(`/admin/users/${user.body.id}/mfa`, { method: "DELETE", headers: bearer(admin.token) });
    expect(res.status).toBe(204);
    const login = await postJson("/login", { email: user.input.email, password: user.input.password });
    expect(login.status).toBe(200);
    const missing = await call(`/admin/users/${crypto.randomUUID()}/mfa`, {
      method: "DELETE",
      headers: bearer(admin.token),
    });
    expect(missing.status).toBe(404);
  });
});

describe("audit events", () => {
  /** The user's stored MFA events; none holds the secret or any of `codes`. */
  async function mfaEventsOf(userId: string, secret: string, codes: string[]) {
    const rows = (await auditRowsOf(userId)).filter((row) => String(row.type).includes("mfa"));
    const stored = JSON.stringify(rows);
    for (const value of [secret, ...codes]) expect(stored).not.toContain(value);
    return rows;
  }

  it("records mfa_enabled and mfa_disabled with method totp; refused attempts only as mfa_failed, never the code", async () => {
    const user = await enrolling();
    const wrong = codeAt(user.secret, at(-90));
    expect((await send("POST", "/me/mfa/totp/confirm", user.token, { code: wrong })).status).toBe(400);
    const confirmCode = codeAt(user.secret, at(-30));
    const confirmed = await send("POST", "/me/mfa/totp/confirm", user.token, { code: confirmCode });
    expect(confirmed.status).toBe(200);
    const { recovery_codes } = (await confirmed.json()) as { recovery_codes: string[] };
    const disable = { password: user.input.password, code: codeAt(user.secret, at(0)) };
    expect((await send("DELETE", "/me/mfa/totp", user.token, { ...disable, code: "000000" })).status).toBe(400);
    expect((await send("DELETE", "/me/mfa/totp", user.token, disable)).status).toBe(204);
    // TOTP is off now: a second disable is 404 and records nothing.
    expect((await send("DELETE", "/me/mfa/totp", user.token, disable)).status).toBe(404);

    const rows = await mfaEventsOf(user.body.id, user.secret, [wrong, confirmCode, disable.code, ...recovery_codes]);
    const byUser = { actor_type: "user", actor_id: user.body.id, details: '{"method":"totp"}' };
    const failed = (purpose: string) => ({ ...byUser, details: `{"factor":"totp","purpose":"${purpose}"}` });
    expect(rows).toEqual([
      expect.objectContaining({ type: "mfa_failed", ...failed("confirm_totp") }),
      expect.objectContaining({ type: "mfa_enabled", ...byUser }),
      expect.objectContaining({ type: "mfa_failed", ...failed("disable_totp") }),
      expect.objectContaining({ type: "mfa_disabled", ...byUser }),
    ]);
  });

  it("records an admin's MFA reset with the admin as actor", async () => {
    const admin = await registered();
    await promote(admin.body.id);
    const user = await withTotp();
    const reset = await call(`/admin/users/${user.body.id}/mfa`, { method: "DELETE", headers: bearer(admin.token) });
    expect(reset.status).toBe(204);
    const rows = await mfaEventsOf(user.body.id, user.secret, user.recoveryCodes);
    expect(rows.map((row) => row.type)).toEqual(["mfa_enabled", "mfa_reset_by_admin"]);
    expect(rows[1]).toMatchObject({ actor_type: "admin", actor_id: admin.body.id, details: null });
  });
});
