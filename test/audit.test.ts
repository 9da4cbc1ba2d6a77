import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { housekeep } from "../src/features/housekeeping/scheduled";
import { AUDIT_EVENT_TYPES, safeDetails } from "../src/identity/audit";
import {
  auditRowsOf,
  bearer,
  call,
  errorOf,
  loggedIn,
  newUser,
  postJson,
  promote,
  refresh,
  registered,
  send,
  uniqueEmail,
} from "./helpers";

type Activity = { id: string; type: string; time: string; ip: string | null; user_agent: string | null; actor: string };
type AuditEvent = Activity & {
  user_id: string | null;
  actor_id: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
};
type Page<T> = { events: T[]; next_cursor: string | null };

const CLIENT = { "cf-connecting-ip": "203.0.113.7", "user-agent": "audit-test/1.0" };

async function activity(token: string, cursor?: string): Promise<Page<Activity>> {
  const res = await call(`/me/activity${cursor ? `?cursor=${cursor}` : ""}`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return (await res.json()) as Page<Activity>;
}

async function audit(token: string, query: string): Promise<Page<AuditEvent>> {
  const res = await call(`/admin/audit?${query}`, { headers: bearer(token) });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return (await res.json()) as Page<AuditEvent>;
}

async function anAdmin() {
  const admin = await registered();
  await promote(admin.body.id);
  return admin;
}

describe("audit events, written with the change they record", () => {
  it("records registration and login with IP, user agent and request id, shown in /me/activity", async () => {
    const input = newUser();
    const res = await postJson("/register", input, CLIENT);
    const { id } = (await res.json()) as { id: string };
    const { token } = await loggedIn(input, CLIENT);
    const page = await activity(token);
    expect(page.events.map((event) => event.type)).toEqual(["login_succeeded", "user_registered"]);
    expect(page.events[0]).toEqual({
      id: expect.any(String),
      type: "login_succeeded",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      ip: "203.0.113.7",
      user_agent: "audit-test/1.0",
      actor: "user",
    });
    const [registeredRow] = await auditRowsOf(id);
    expect(registeredRow).toMatchObject({ actor_type: "user", actor_id: id, request_id: expect.any(String) });
    expect(page.next_cursor).toBeNull();
  });

  it("writes no event for a registration that lost to an existing email", async () => {
    const { input, body } = await registered();
    expect((await postJson("/register", { ...input, email: input.email.toUpperCase() })).status).toBe(409);
    expect((await auditRowsOf(body.id)).map((row) => row.type)).toEqual(["user_registered"]);
  });

  it("records failed logins of existing accounts, then the lock; never an unknown address", async () => {
    const { input, body } = await registered();
    for (let i = 0; i < 5; i++) {
      expect((await postJson("/login", { email: input.email, password: "wrong password" })).status).toBe(400);
    }
    const types = (await auditRowsOf(body.id)).map((row) => row.type);
    expect(types.filter((type) => type === "login_failed")).toHaveLength(5);
    expect(types.filter((type) => type === "account_locked")).toHaveLength(1);
    const locked = (await auditRowsOf(body.id)).find((row) => row.type === "account_locked");
    expect(JSON.parse(String(locked?.details))).toEqual({ seconds: 60 });
    const failed = (await auditRowsOf(body.id)).find((row) => row.type === "login_failed");
    expect(JSON.parse(String(failed?.details))).toEqual({ reason: "wrong_password" });

    const unknown = uniqueEmail("nobody");
    expect((await postJson("/login", { email: unknown, password: "whatever 123" })).status).toBe(400);
    const { results } = await env.DB.prepare(
      "select count(*) as n from audit_events where instr(details, ?) > 0 or user_id is null",
    )
      .bind(unknown)
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(0);
  });

  it("records logout, logout everywhere, a revoked session and a reused refresh token", async () => {
    const { input, body, refreshToken } = await registered();
    const rotated = (await (await refresh(refreshToken)).json()) as { refresh_token: string };
    // Reuse with the reuse interval off (REFRESH_REUSE_INTERVAL=0): the family is revoked.
    const noReuse = { REFRESH_REUSE_INTERVAL: "0" };
    expect((await postJson("/token/refresh", { refresh_token: refreshToken }, {}, noReuse)).status).toBe(401);
    const second = await loggedIn(input);
    const third = await loggedIn(input);
    const sessions = (await (await call("/sessions", { headers: bearer(third.token) })).json()) as {
      sessions: { id: string; current: boolean }[];
    };
    const other = sessions.sessions.find((session) => !session.current);
    expect((await send("DELETE", `/sessions/${other?.id}`, third.token)).status).toBe(204);
    // A made-up id is 404 and leaves no event.
    expect((await send("DELETE", `/sessions/${crypto.randomUUID()}`, third.token)).status).toBe(404);
    expect((await send("POST", "/logout", third.token)).status).toBe(204);
    const fourth = await loggedIn(input);
    expect((await send("POST", "/logout/all", fourth.token)).status).toBe(204);

    const rows = await auditRowsOf(body.id);
    expect(rows.map((row) => row.type)).toEqual([
      "user_registered",
      "refresh_token_reused",
      "login_succeeded",
      "login_succeeded",
      "session_revoked",
      "logout",
      "login_succeeded",
      "logout",
    ]);
    expect(rows[1]).toMatchObject({ actor_type: "system", actor_id: null });
    expect(JSON.parse(String(rows[7]?.details))).toEqual({ scope: "all" });
    // Nothing secret anywhere in what was stored.
    const stored = JSON.stringify(rows);
    for (const secret of [input.password, refreshToken, rotated.refresh_token, second.token, second.refresh_token]) {
      expect(stored).not.toContain(secret);
    }
  });

  it("records a password change and an account deletion, which stays visible to admins", async () => {
    const { input, body, token } = await registered();
    const changed = await send("POST", "/me/password", token, {
      currentPassword: input.password,
      newPassword: "another long passphrase",
    });
    expect(changed.status).toBe(200);
    const { token: fresh } = (await changed.json()) as { token: string };
    expect((await activity(fresh)).events[0]?.type).toBe("password_changed");
    expect((await send("DELETE", "/me", fresh, { password: "another long passphrase" })).status).toBe(204);
    const admin = await anAdmin();
    const page = await audit(admin.token, `user_id=${body.id}`);
    expect(page.events.map((event) => event.type)).toEqual(["account_deleted", "password_changed", "user_registered"]);
    expect(JSON.stringify(page)).not.toContain("another long passphrase");
  });

  it("records an admin's role change, disable, enable and delete, with the admin as actor", async () => {
    const admin = await anAdmin();
    const { body } = await registered();
    expect(
      (await send("PATCH", `/admin/users/${body.id}`, admin.token, { role: "admin", disabled: true })).status,
    ).toBe(200);
    expect((await send("PATCH", `/admin/users/${body.id}`, admin.token, { disabled: false })).status).toBe(200);
    expect((await send("DELETE", `/admin/users/${body.id}`, admin.token)).status).toBe(204);
    // A refused change (no such user) leaves nothing.
    expect((await send("DELETE", `/admin/users/${body.id}`, admin.token)).status).toBe(404);
    const page = await audit(admin.token, `user_id=${body.id}`);
    const seen = page.events.map((event) => [event.type, event.actor, event.actor_id]);
    const byAdmin = (type: string) => [type, "admin", admin.body.id];
    expect(seen.slice(0, 2)).toEqual([byAdmin("user_deleted_by_admin"), byAdmin("account_enabled")]);
    // One request, one millisecond: these two are in either order.
    expect(seen.slice(2, 4)).toEqual(expect.arrayContaining([byAdmin("account_disabled"), byAdmin("role_changed")]));
    expect(seen[4]).toEqual(["user_registered", "user", body.id]);
    expect(page.events.find((event) => event.type === "role_changed")?.details).toEqual({ role: "admin" });
  });

  it("writes no event when the last-admin guard refuses", async () => {
    // Demote every other admin so this one is the last; then its self-demotion is refused.
    await env.DB.prepare("update users set role = 'user' where role = 'admin'").run();
    const admin = await anAdmin();
    expect((await send("PATCH", `/admin/users/${admin.body.id}`, admin.token, { role: "user" })).status).toBe(409);
    expect((await send("DELETE", `/admin/users/${admin.body.id}`, admin.token)).status).toBe(409);
    expect((await auditRowsOf(admin.body.id)).map((row) => row.type)).toEqual(["user_registered"]);
  });
});

describe("GET /me/activity", () => {
  it("pages 20 at a time, newest first, through next_cursor", async () => {
    const { input, token } = await registered();
    for (let i = 0; i < 21; i++) await loggedIn(input);
    const first = await activity(token);
    expect(first.events).toHaveLength(20);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await activity(token, first.next_cursor ?? "");
    expect(second.events.map((event) => event.type)).toEqual(["login_succeeded", "user_registered"]);
    expect(second.next_cursor).toBeNull();
    const ids = [...first.events, ...second.events].map((event) => event.id);
    expect(new Set(ids).size).toBe(22);
  });

  it("needs a live session and a valid cursor", async () => {
    expect((await call("/me/activity")).status).toBe(403); // token_required, as the tutorial answers
    const { token } = await registered();
    const res = await call("/me/activity?cursor=not-a-cursor", { headers: bearer(token) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_input");
  });

  it("shows only the caller's own events", async () => {
    const mine = await registered();
    await registered();
    const page = await activity(mine.token);
    expect(page.events).toHaveLength(1);
    expect((await auditRowsOf(mine.body.id))[0]?.id).toBe(page.events[0]?.id);
  });
});

describe("GET /admin/audit", () => {
  it("filters by user, type and time, and pages by time then id", async () => {
    const admin = await anAdmin();
    const { input, body } = await registered();
    for (let i = 0; i < 3; i++) await loggedIn(input);
    const logins = await audit(admin.token, `user_id=${body.id}&type=login_succeeded&limit=2`);
    expect(logins.events).toHaveLength(2);
    expect(logins.events.every((event) => event.type === "login_succeeded" && event.user_id === body.id)).toBe(true);
    const rest = await audit(
      admin.token,
      `user_id=${body.id}&type=login_succeeded&limit=2&cursor=${logins.next_cursor}`,
    );
    expect(rest.events).toHaveLength(1);
    expect(rest.next_cursor).toBeNull();
    const all = [...logins.events, ...rest.events];
    const order = [...all].sort((a, b) => b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
    expect(all).toEqual(order);

    const registeredAt = (await auditRowsOf(body.id))[0]?.time;
    const before = new Date(Number(registeredAt) + 1).toISOString();
    const early = await audit(admin.token, `user_id=${body.id}&before=${encodeURIComponent(before)}`);
    expect(early.events.map((event) => event.type)).toContain("user_registered");
    const none = await audit(admin.token, `user_id=${body.id}&before=2000-01-01T00:00:00Z`);
    expect(none.events).toEqual([]);
  });

  it.each([
    ["type=not_a_type", "type must be one of"],
    ["before=yesterday", "before must be an ISO 8601 date-time"],
    ["cursor=abc", "cursor is not valid"],
    ["limit=0", "limit must be a whole number from 1 to 100"],
  ])("answers 400 invalid_input for %s", async (query, message) => {
    const admin = await anAdmin();
    const res = await call(`/admin/audit?${query}`, { headers: bearer(admin.token) });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("invalid_input");
    expect(error.message).toContain(message);
  });

  it("is for admins only", async () => {
    const { token } = await registered();
    expect((await call("/admin/audit", { headers: bearer(token) })).status).toBe(403);
  });
});

describe("audit retention and details", () => {
  it("housekeeping deletes events older than AUDIT_RETENTION and keeps newer ones", async () => {
    const { body } = await registered();
    const now = Date.now();
    const old = now - 91 * 24 * 3600_000;
    await env.DB.prepare(
      "insert into audit_events (id, time, type, user_id, actor_type) values (?, ?, 'login_succeeded', ?, 'user')",
    )
      .bind(crypto.randomUUID(), old, body.id)
      .run();
    const { removed } = await housekeep(env, new Date(now));
    expect(removed.audit_events).toBeGreaterThanOrEqual(1);
    expect((await auditRowsOf(body.id)).map((row) => row.type)).toEqual(["user_registered"]);
  });

  it("never stores a detail whose name says password, hash, token, code, secret or link", () => {
    expect(
      safeDetails({
        reason: "wrong_password",
        password: "x",
        password_hash: "y",
        refresh_token: "z",
        code: "123456",
        client_secret: "s",
        reset_link: "https://example.com/r",
        seconds: 60,
      }),
    ).toBe('{"reason":"wrong_password","seconds":60}');
    expect(safeDetails({ reason: "r".repeat(500) })).toBe(JSON.stringify({ reason: "r".repeat(200) }));
    // Hence `credential` for a passkey's id: `passkey_id` says "pass" and "key".
    expect(safeDetails({ passkey_id: "p", credential: "p" })).toBe('{"credential":"p"}');
  });

  it("has a one-line list of types covering the issue's events", () => {
    expect(AUDIT_EVENT_TYPES).toEqual(
      expect.arrayContaining([
        "user_registered",
        "login_succeeded",
        "login_failed",
        "account_locked",
        "logout",
        "session_revoked",
        "refresh_token_reused",
        "password_changed",
        "account_deleted",
        "role_changed",
        "account_disabled",
        "account_enabled",
        "user_deleted_by_admin",
        // Written by the email and MFA flows; each is shown in test/email.test.ts,
        // test/mfa.test.ts and test/passkeys.test.ts ("audit events" blocks).
        "email_verified",
        "password_reset_requested",
        "password_reset",
        "email_changed",
        "mfa_enabled",
        "mfa_disabled",
        "passkey_added",
        "passkey_removed",
        "mfa_reset_by_admin",
      ]),
    );
  });
});
