import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin } from "../src/features/admin/routes";
import {
  bearer,
  call,
  claimsOf,
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

async function roleOf(id: string) {
  return (await env.DB.prepare("select role from users where id = ?").bind(id).first<{ role: string }>())?.role;
}

/** A fresh admin with a live session. */
async function anAdmin() {
  const user = await registered();
  await promote(user.body.id);
  return user;
}

type Page = { users: { id: string; email: string; role: string; disabled: boolean }[]; next_cursor: string | null };

describe("roles", () => {
  it("gives every new user the role user, in D1, the token and /me", async () => {
    const { body, token } = await registered();
    expect(await roleOf(body.id)).toBe("user");
    expect(claimsOf(token).role).toBe("user");
    expect(await (await call("/me", { headers: bearer(token) })).json()).toMatchObject({ role: "user" });
  });

  it.each([
    ["role", '"role":"admin"'],
    ["isAdmin", '"isAdmin":true'],
    ["__proto__", '"__proto__":{"role":"admin"}'],
    ["constructor.prototype", '"constructor":{"prototype":{"role":"admin"}}'],
  ])("cannot be set at registration through %s", async (_label, extra) => {
    const input = newUser();
    const body = JSON.stringify(input).replace(/}$/, `,${extra}}`);
    const res = await call("/register", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; token: string };
    expect(await roleOf(created.id)).toBe("user");
    expect(claimsOf(created.token).role).toBe("user");
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it.each([
    ["role", { role: "admin", firstName: "X" }],
    ["isAdmin", { isAdmin: true, firstName: "X" }],
    ["__proto__", JSON.parse('{"__proto__":{"role":"admin"},"firstName":"X"}')],
    ["constructor.prototype", { constructor: { prototype: { role: "admin" } }, firstName: "X" }],
  ])("cannot be set through PATCH /me with %s", async (_label, patch) => {
    const { body, token } = await registered();
    expect((await send("PATCH", "/me", token, patch)).status).toBe(200);
    expect(await roleOf(body.id)).toBe("user");
  });

  it("puts the role in tokens issued after a promotion", async () => {
    const { input, body } = await registered();
    await promote(body.id);
    expect(claimsOf((await loggedIn(input)).token).role).toBe("admin");
  });
});

describe("requireRole('admin')", () => {
  it("answers 403 token_required without a token, 401 with a bad one, 403 forbidden for a user, on every admin route", async () => {
    const { body, token } = await registered();
    const routes = admin.routes.filter((route) => route.method !== "ALL");
    expect(routes.length).toBeGreaterThanOrEqual(4);
    for (const { method, path: pattern } of routes) {
      const path = pattern.replace(":id", body.id);
      const none = await call(path, { method });
      expect(none.status, `${method} ${path}`).toBe(403);
      expect((await errorOf(none)).code).toBe("token_required");
      const bad = await call(path, { method, headers: bearer("a.b.c") });
      expect(bad.status, `${method} ${path}`).toBe(401);
      const user = await send(method, path, token, method === "GET" ? undefined : { role: "admin" });
      expect(user.status, `${method} ${path}`).toBe(403);
      expect(await errorOf(user)).toEqual({ code: "forbidden", message: "You do not have permission to do this" });
    }
    expect(await roleOf(body.id)).toBe("user");
  });

  it("reads the role from D1, so a promotion or demotion counts at once on the admin API", async () => {
    const { body, token } = await registered();
    expect((await call("/admin/users", { headers: bearer(token) })).status).toBe(403);
    await promote(body.id);
    expect((await call("/admin/users", { headers: bearer(token) })).status).toBe(200);
    const other = await anAdmin();
    expect((await send("PATCH", `/admin/users/${body.id}`, other.token, { role: "user" })).status).toBe(200);
    expect((await call("/admin/users", { headers: bearer(token) })).status).toBe(403);
    // The stateless route keeps trusting the token until it expires.
    expect(claimsOf(token).role).toBe("user");
    expect((await call("/welcome", { headers: bearer(token) })).status).toBe(200);
  });
});

describe("GET /admin/users", () => {
  it("pages through users in email order with limit and cursor", async () => {
    const admin = await anAdmin();
    const tag = `page-${crypto.randomUUID().slice(0, 8)}`;
    for (const n of [1, 2, 3, 4, 5]) await registered({ email: `${tag}-${n}@example.com` });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pageNumber = 0; pageNumber < 5; pageNumber++) {
      const query = `/admin/users?limit=2&email=${tag}${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await (await call(query, { headers: bearer(admin.token) })).json()) as Page;
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users.map((user) => user.email));
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5].map((n) => `${tag}-${n}@example.com`));
  });

  it("shows role and disabled but never a hash", async () => {
    const admin = await anAdmin();
    const res = await call(`/admin/users?email=${encodeURIComponent(admin.body.email as string)}`, {
      headers: bearer(admin.token),
    });
    const text = await res.text();
    const page = JSON.parse(text) as Page;
    expect(page.users).toEqual([expect.objectContaining({ id: admin.body.id, role: "admin", disabled: false })]);
    expect(page.next_cursor).toBeNull();
    expect(text).not.toMatch(/password|hash|\$2[aby]\$/i);
  });

  it("treats the email prefix literally: % and _ are not wildcards", async () => {
    const admin = await anAdmin();
    const tag = crypto.randomUUID().slice(0, 8);
    await registered({ email: `${tag}_x@example.com` });
    await registered({ email: `${tag}ax@example.com` });
    for (const [prefix, expected] of [
      [`${tag}_`, [`${tag}_x@example.com`]],
      [`${tag}%`, []],
      ["%", []],
      ["_", []],
      ["' or 1=1 --", []],
    ] as const) {
      const res = await call(`/admin/users?email=${encodeURIComponent(prefix)}`, { headers: bearer(admin.token) });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Page).users.map((user) => user.email)).toEqual(expected);
    }
  });

  it.each(["limit=0", "limit=101", "limit=abc", "limit=-1", "limit=1.5", "cursor=%%%", `email=${"a".repeat(300)}`])(
    "refuses %s with 400 invalid_input",
    async (query) => {
      const admin = await anAdmin();
      const res = await call(`/admin/users?${query}`, { headers: bearer(admin.token) });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    },
  );

  it("accepts limit=100", async () => {
    const admin = await anAdmin();
    expect((await call("/admin/users?limit=100", { headers: bearer(admin.token) })).status).toBe(200);
  });
});

describe("GET, PATCH and DELETE /admin/users/:id", () => {
  it("reads one user, 404 for an unknown id", async () => {
    const admin = await anAdmin();
    const { body } = await registered();
    const res = await call(`/admin/users/${body.id}`, { headers: bearer(admin.token) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: body.id, email: body.email, role: "user", disabled: false });
    const missing = await call(`/admin/users/${crypto.randomUUID()}`, { headers: bearer(admin.token) });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe("not_found");
  });

  it("changes the role", async () => {
    const admin = await anAdmin();
    const { body } = await registered();
    const res = await send("PATCH", `/admin/users/${body.id}`, admin.token, { role: "admin" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: body.id, role: "admin" });
    expect(await roleOf(body.id)).toBe("admin");
  });

  it("disables a user: login answers like a wrong password, refresh and sessions stop", async () => {
    const admin = await anAdmin();
    const victim = await registered();
    const res = await send("PATCH", `/admin/users/${victim.body.id}`, admin.token, { disabled: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ disabled: true });

    const login = await postJson("/login", { email: victim.input.email, password: victim.input.password });
    const wrong = await postJson("/login", { email: victim.input.email, password: "not-the-password" });
    expect(login.status).toBe(400);
    expect(await login.text()).toBe(await wrong.text());
    expect((await refresh(victim.refreshToken)).status).toBe(401);
    expect((await call("/me", { headers: bearer(victim.token) })).status).toBe(401);

    expect((await send("PATCH", `/admin/users/${victim.body.id}`, admin.token, { disabled: false })).status).toBe(200);
    expect((await postJson("/login", { email: victim.input.email, password: victim.input.password })).status).toBe(200);
  });

  it.each([
    [{ role: "root" }, 'role must be "user" or "admin"'],
    [{ disabled: "yes" }, "disabled must be true or false"],
    [{}, "Nothing to update: send role and/or disabled"],
    [{ email: "x@example.com" }, "Nothing to update: send role and/or disabled"],
  ])("refuses %j with 400", async (patch, message) => {
    const admin = await anAdmin();
    const { body } = await registered();
    const res = await send("PATCH", `/admin/users/${body.id}`, admin.token, patch);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message });
  });

  it("answers 404 when patching or deleting an unknown user", async () => {
    const admin = await anAdmin();
    const id = crypto.randomUUID();
    expect((await send("PATCH", `/admin/users/${id}`, admin.token, { role: "admin" })).status).toBe(404);
    expect((await send("DELETE", `/admin/users/${id}`, admin.token)).status).toBe(404);
  });

  it("deletes a user and its sessions", async () => {
    const admin = await anAdmin();
    const victim = await registered({ email: uniqueEmail("gone") });
    expect((await send("DELETE", `/admin/users/${victim.body.id}`, admin.token)).status).toBe(204);
    expect((await call(`/admin/users/${victim.body.id}`, { headers: bearer(admin.token) })).status).toBe(404);
    expect((await refresh(victim.refreshToken)).status).toBe(401);
    expect((await postJson("/register", victim.input)).status).toBe(201);
  });
});
