import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { clientAdmin } from "../src/features/oauth/client-admin";
import { sha256Hex } from "../src/platform/crypto";
import { sessions } from "../src/platform/schema";
import { oauthClients, oauthConsents } from "../src/platform/schema-oauth";
import { auditRowsOf, bearer, call, errorOf, type Json, promote, registered } from "./helpers";
import { clientRow, grantRow } from "./oauth-rows";

// The admin API of the provider's clients: POST/GET/PATCH/DELETE /admin/oauth/clients
// (docs/oauth-clients.md).

const db = drizzle(env.DB);
/** The resource servers' scope the tests register clients with. */
const SCOPES = { OAUTH_SCOPES: "mcp" } as Partial<Cloudflare.Env>;

async function anAdmin() {
  const user = await registered();
  await promote(user.body.id);
  return user;
}

function adminCall(token: string, method: string, path: string, body?: unknown) {
  return call(
    path,
    {
      method,
      headers: { ...bearer(token), "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    SCOPES,
  );
}

const CONFIDENTIAL = {
  name: "Partner app",
  redirect_uris: ["https://partner.example.com/callback"],
  type: "confidential",
  scopes: ["openid", "email", "mcp"],
};

async function created(token: string, body: Json = CONFIDENTIAL) {
  const res = await adminCall(token, "POST", "/admin/oauth/clients", body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Json & { client_id: string; client_secret?: string };
}

async function clientCount() {
  return (await env.DB.prepare("select count(*) as n from oauth_clients").first<{ n: number }>())?.n ?? 0;
}

describe("POST /admin/oauth/clients", () => {
  it("registers a confidential client and shows its secret once, keeping only its SHA-256", async () => {
    const admin = await anAdmin();
    const body = await created(admin.token);
    expect(Object.keys(body).sort()).toEqual(
      [
        "client_id",
        "client_name",
        "client_secret",
        "created_at",
        "first_party",
        "grant_types",
        "last_used_at",
        "redirect_uris",
        "registration",
        "scopes",
        "token_endpoint_auth_method",
        "type",
      ].sort(),
    );
    expect(body).toMatchObject({
      client_name: "Partner app",
      redirect_uris: ["https://partner.example.com/callback"],
      type: "confidential",
      grant_types: ["authorization_code", "refresh_token"],
      scopes: ["openid", "email", "mcp"],
      first_party: false,
      token_endpoint_auth_method: "client_secret_basic",
      registration: "admin",
      last_used_at: null,
    });
    expect(body.client_id).toMatch(/^[\w-]{22,}$/);
    expect(body.client_secret).toMatch(/^[\w-]{43}$/);
    const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id));
    expect(row?.secretHash).toBe(await sha256Hex(body.client_secret ?? ""));
    expect(JSON.stringify(row)).not.toContain(body.client_secret);
    const events = await auditRowsOf(admin.body.id);
    const event = events.find((one) => one.type === "oauth_client_created");
    expect(event).toMatchObject({ actor_type: "admin", actor_id: admin.body.id });
    expect(JSON.parse(event?.details ?? "{}")).toEqual({ client_id: body.client_id, client_type: "confidential" });
  });

  it("registers a public first-party client with loopback redirect URIs and no secret", async () => {
    const admin = await anAdmin();
    const body = await created(admin.token, {
      name: "CLI",
      redirect_uris: ["http://127.0.0.1/callback", "http://[::1]:8080/cb", "http://localhost/cb"],
      type: "public",
      grant_types: ["authorization_code"],
      first_party: true,
    });
    expect(body).toMatchObject({
      type: "public",
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"],
      scopes: null,
      first_party: true,
    });
    expect(body).not.toHaveProperty("client_secret");
  });

  it("registers a confidential client_credentials client without redirect URIs", async () => {
    const admin = await anAdmin();
    const body = await created(admin.token, {
      name: "Batch job",
      redirect_uris: [],
      type: "confidential",
      grant_types: ["client_credentials"],
    });
    expect(body.grant_types).toEqual(["client_credentials"]);
  });

  it("keeps a name with control characters inert", async () => {
    const admin = await anAdmin();
    const body = await created(admin.token, { ...CONFIDENTIAL, name: "Evil\u001b[2J\u202eApp" });
    expect(body.client_name).toBe("Evil\\u{1B}[2J\\u{202E}App");
  });

  it.each([
    ["a redirect URI on plain http", { redirect_uris: ["http://partner.example.com/cb"] }, /https, or http on/],
    ["a redirect URI with a fragment", { redirect_uris: ["https://partner.example.com/cb#x"] }, /fragment/],
    ["a relative redirect URI", { redirect_uris: ["/callback"] }, /absolute/],
    ["a custom scheme", { redirect_uris: ["com.example.app:/cb"] }, /absolute http/],
    ["credentials in a redirect URI", { redirect_uris: ["https://u:p@partner.example.com/cb"] }, /credentials/],
    ["no redirect URI for authorization_code", { redirect_uris: [] }, /at least one/],
    ["an unknown grant type", { grant_types: ["password"] }, /grant_types may hold only/],
    ["refresh_token alone", { grant_types: ["refresh_token"] }, /needs authorization_code/],
    ["client_credentials for a public client", { type: "public", grant_types: ["client_credentials"] }, /confidential/],
    ["an unsupported scope", { scopes: ["openid", "admin:all"] }, /not supported/],
    ["an empty name", { name: "   " }, /name must not be empty/],
    ["a missing name", { name: undefined }, /required|name/],
    ["a wrong type", { type: "secret" }, /type must be/],
    ["redirect_uris that is not an array", { redirect_uris: "https://a.example.com/cb" }, /array/],
  ])("refuses %s with 400 invalid_input and stores nothing", async (_label, change, message) => {
    const admin = await anAdmin();
    const before = await clientCount();
    const res = await adminCall(admin.token, "POST", "/admin/oauth/clients", { ...CONFIDENTIAL, ...change });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("invalid_input");
    expect(error.message).toMatch(message);
    expect(await clientCount()).toBe(before);
  });
});

describe("the admin client routes' guards", () => {
  it("answer 401 with a bad token and 403 forbidden for a user who is not an admin, on every route", async () => {
    const user = await registered();
    // One entry per handler in Hono's list: one per route here.
    const routes = new Set(clientAdmin.routes.map((route) => `${route.method} ${route.path}`));
    expect(routes.size).toBe(6);
    for (const [method = "", pattern = ""] of [...routes].map((route) => route.split(" "))) {
      const path = pattern.replace(":id", "some-client");
      const bad = await call(path, { method, headers: bearer("a.b.c") });
      expect(bad.status, `${method} ${path}`).toBe(401);
      expect((await errorOf(bad)).code).toBe("invalid_token");
      const res = await adminCall(user.token, method, path, method === "GET" ? undefined : CONFIDENTIAL);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await errorOf(res)).code).toBe("forbidden");
    }
  });
});

describe("GET /admin/oauth/clients and /admin/oauth/clients/:id", () => {
  it("list every client and show one, never a secret", async () => {
    const admin = await anAdmin();
    const one = await created(admin.token);
    const list = await adminCall(admin.token, "GET", "/admin/oauth/clients");
    expect(list.status).toBe(200);
    const text = await list.clone().text();
    expect(text).not.toContain(one.client_secret);
    expect(text).not.toMatch(/secret_hash|client_secret"/);
    const { clients } = (await list.json()) as { clients: Json[] };
    expect(clients.map((client) => client.client_id)).toContain(one.client_id);
    const ids = clients.map((client) => String(client.client_id));
    expect(ids).toEqual([...ids].sort());

    const res = await adminCall(admin.token, "GET", `/admin/oauth/clients/${one.client_id}`);
    expect(res.status).toBe(200);
    const { client_secret: _, ...shown } = one;
    expect(await res.json()).toEqual(shown);
  });

  it("answer 404 not_found for an unknown client", async () => {
    const admin = await anAdmin();
    const res = await adminCall(admin.token, "GET", "/admin/oauth/clients/no-such-client");
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("not_found");
  });
});

describe("PATCH /admin/oauth/clients/:id", () => {
  it("changes what it is sent, checked as at registration, and audits oauth_client_updated", async () => {
    const admin = await anAdmin();
    const one = await created(admin.token);
    const res = await adminCall(admin.token, "PATCH", `/admin/oauth/clients/${one.client_id}`, {
      name: "Partner app 2",
      redirect_uris: ["https://partner.example.com/v2/callback"],
      scopes: null,
      first_party: true,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      client_id: one.client_id,
      client_name: "Partner app 2",
      redirect_uris: ["https://partner.example.com/v2/callback"],
      scopes: null,
      first_party: true,
      grant_types: ["authorization_code", "refresh_token"],
    });
    const event = (await auditRowsOf(admin.body.id)).find((row) => row.type === "oauth_client_updated");
    expect(JSON.parse(event?.details ?? "{}")).toEqual({
      client_id: one.client_id,
      changed: "first_party name redirect_uris scopes",
    });
  });

  it("refuses bad changes, an empty change, first_party for a dynamic client, and unknown clients", async () => {
    const admin = await anAdmin();
    const one = await created(admin.token);
    const path = `/admin/oauth/clients/${one.client_id}`;
    for (const change of [{ redirect_uris: ["http://example.com/cb"] }, { grant_types: ["implicit"] }, {}]) {
      const res = await adminCall(admin.token, "PATCH", path, change);
      expect(res.status, JSON.stringify(change)).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    }
    const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, one.client_id));
    expect(row?.clientName).toBe("Partner app");

    const dynamicId = `dyn-${crypto.randomUUID()}`;
    await db.insert(oauthClients).values(clientRow(dynamicId, "dynamic", new Date()));
    const dynamic = await adminCall(admin.token, "PATCH", `/admin/oauth/clients/${dynamicId}`, { first_party: true });
    expect(dynamic.status).toBe(400);
    expect((await errorOf(dynamic)).message).toMatch(/first-party/);

    const missing = await adminCall(admin.token, "PATCH", "/admin/oauth/clients/nope", { name: "x" });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe("not_found");
  });
});

describe("POST /admin/oauth/clients/:id/secret", () => {
  it("gives a confidential client a new secret; the old hash is gone", async () => {
    const admin = await anAdmin();
    const one = await created(admin.token);
    const res = await adminCall(admin.token, "POST", `/admin/oauth/clients/${one.client_id}/secret`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { client_id: string; client_secret: string };
    expect(body.client_id).toBe(one.client_id);
    expect(body.client_secret).not.toBe(one.client_secret);
    const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, one.client_id));
    expect(row?.secretHash).toBe(await sha256Hex(body.client_secret));
  });

  it("refuses a public client (400) and an unknown one (404)", async () => {
    const admin = await anAdmin();
    const one = await created(admin.token, {
      name: "SPA",
      redirect_uris: ["https://spa.example.com/cb"],
      type: "public",
    });
    const res = await adminCall(admin.token, "POST", `/admin/oauth/clients/${one.client_id}/secret`);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_input");
    const missing = await adminCall(admin.token, "POST", "/admin/oauth/clients/nope/secret");
    expect(missing.status).toBe(404);
  });
});

describe("DELETE /admin/oauth/clients/:id", () => {
  it("deletes the client, ends every token of its grants and its consents, and audits oauth_client_deleted", async () => {
    const admin = await anAdmin();
    const one = await created(admin.token);
    const person = await registered();
    const live = grantRow(person.body.id, one.client_id);
    const other = await created(admin.token);
    const untouched = grantRow(person.body.id, other.client_id);
    await db.insert(sessions).values([live, untouched]);
    await db
      .insert(oauthConsents)
      .values({ userId: person.body.id, clientId: one.client_id, scope: "openid", createdAt: new Date() });

    const res = await adminCall(admin.token, "DELETE", `/admin/oauth/clients/${one.client_id}`);
    expect(res.status).toBe(204);
    const rows = await db.select().from(sessions).where(eq(sessions.userId, person.body.id));
    expect(rows.find((row) => row.id === live.id)?.revokedAt).not.toBeNull();
    expect(rows.find((row) => row.id === untouched.id)?.revokedAt).toBeNull();
    expect(await db.select().from(oauthConsents).where(eq(oauthConsents.clientId, one.client_id))).toEqual([]);
    expect(await db.select().from(oauthClients).where(eq(oauthClients.clientId, one.client_id))).toEqual([]);
    const event = (await auditRowsOf(admin.body.id)).find((row) => row.type === "oauth_client_deleted");
    expect(JSON.parse(event?.details ?? "{}")).toEqual({ client_id: one.client_id });

    const again = await adminCall(admin.token, "DELETE", `/admin/oauth/clients/${one.client_id}`);
    expect(again.status).toBe(404);
    expect((await errorOf(again)).code).toBe("not_found");
    const deletions = (await auditRowsOf(admin.body.id)).filter((row) => row.type === "oauth_client_deleted");
    expect(deletions).toHaveLength(1);
  });
});
