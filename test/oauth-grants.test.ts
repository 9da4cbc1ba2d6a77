import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { housekeep } from "../src/features/housekeeping/scheduled";
import { sessions } from "../src/platform/schema";
import { oauthClients, oauthConsents } from "../src/platform/schema-oauth";
import { auditRowsOf, bearer, call, errorOf, registered, send } from "./helpers";
import { clientRow, grantRow } from "./oauth-rows";

// GET/DELETE /me/oauth/grants, and housekeeping's deletion of unused dynamic clients.

const db = drizzle(env.DB);
const DAY = 24 * 3600_000;

async function aClient(name: string, registration: "admin" | "dynamic" | "metadata_document" = "admin") {
  const clientId = `${registration}-${crypto.randomUUID()}`;
  await db.insert(oauthClients).values({ ...clientRow(clientId, registration, new Date()), clientName: name });
  return clientId;
}

async function consent(
  userId: string,
  clientId: string,
  scope: string,
  createdAt = new Date(),
  lastUsedAt: Date | null = null,
) {
  await db.insert(oauthConsents).values({ userId, clientId, scope, createdAt, lastUsedAt });
}

describe("GET /me/oauth/grants", () => {
  it("lists the caller's consents and the clients holding live tokens without one, by client name", async () => {
    const person = await registered();
    const other = await registered();
    const given = new Date(Date.now() - DAY);
    const used = new Date(Date.now() - 3600_000);
    const withConsent = await aClient("Beta app");
    const firstParty = await aClient("Alpha app");
    const revokedOnly = await aClient("Gamma app");
    const othersOnly = await aClient("Delta app");
    await consent(person.body.id, withConsent, "email openid", given, used);
    const token = grantRow(person.body.id, firstParty, { scope: "openid profile" });
    await db
      .insert(sessions)
      .values([
        grantRow(person.body.id, withConsent),
        token,
        grantRow(person.body.id, revokedOnly, { revokedAt: new Date() }),
        grantRow(person.body.id, revokedOnly, { id: crypto.randomUUID(), expiresAt: new Date(Date.now() - 1000) }),
        grantRow(other.body.id, othersOnly),
      ]);
    await consent(other.body.id, othersOnly, "openid");

    const res = await call("/me/oauth/grants", { headers: bearer(person.token) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      grants: [
        {
          client_id: firstParty,
          client_name: "Alpha app",
          scopes: ["openid", "profile"],
          created_at: token.createdAt.toISOString(),
          last_used_at: token.lastUsedAt.toISOString(),
        },
        {
          client_id: withConsent,
          client_name: "Beta app",
          scopes: ["email", "openid"],
          created_at: given.toISOString(),
          last_used_at: used.toISOString(),
        },
      ],
    });
  });

  it("is empty for someone who allowed nothing", async () => {
    const person = await registered();
    const res = await call("/me/oauth/grants", { headers: bearer(person.token) });
    expect(await res.json()).toEqual({ grants: [] });
  });
});

describe("DELETE /me/oauth/grants/:client_id", () => {
  it("ends every token of the grant and the consent, audits oauth_grant_revoked, and leaves the rest", async () => {
    const person = await registered();
    const clientId = await aClient("Partner");
    const otherClient = await aClient("Other");
    await consent(person.body.id, clientId, "openid");
    await consent(person.body.id, otherClient, "openid");
    const first = grantRow(person.body.id, clientId);
    const second = grantRow(person.body.id, clientId);
    const kept = grantRow(person.body.id, otherClient);
    await db.insert(sessions).values([first, second, kept]);

    const res = await send("DELETE", `/me/oauth/grants/${encodeURIComponent(clientId)}`, person.token);
    expect(res.status).toBe(204);
    const rows = await db.select().from(sessions).where(eq(sessions.userId, person.body.id));
    const revoked = (id: string) => rows.find((row) => row.id === id)?.revokedAt !== null;
    expect([revoked(first.id), revoked(second.id), revoked(kept.id)]).toEqual([true, true, false]);
    const consents = await db.select().from(oauthConsents).where(eq(oauthConsents.userId, person.body.id));
    expect(consents.map((row) => row.clientId)).toEqual([otherClient]);
    const event = (await auditRowsOf(person.body.id)).find((row) => row.type === "oauth_grant_revoked");
    expect(event).toMatchObject({ actor_type: "user", actor_id: person.body.id });
    expect(JSON.parse(event?.details ?? "{}")).toEqual({ client_id: clientId });
    // The API's own session is untouched.
    expect((await call("/me", { headers: bearer(person.token) })).status).toBe(200);
  });

  it("ends a grant held by tokens alone, and takes a metadata-document client's URL as its id", async () => {
    const person = await registered();
    const clientId = `https://app.example.com/oauth/${crypto.randomUUID()}.json`;
    await db.insert(oauthClients).values(clientRow(clientId, "metadata_document", new Date()));
    const row = grantRow(person.body.id, clientId);
    await db.insert(sessions).values(row);
    const res = await send("DELETE", `/me/oauth/grants/${encodeURIComponent(clientId)}`, person.token);
    expect(res.status).toBe(204);
    const [after] = await db.select().from(sessions).where(eq(sessions.id, row.id));
    expect(after?.revokedAt).not.toBeNull();
  });

  it("answers 404 not_found for a client the caller gave nothing, even one another person allowed", async () => {
    const person = await registered();
    const other = await registered();
    const clientId = await aClient("Someone else's");
    await consent(other.body.id, clientId, "openid");
    const otherRow = grantRow(other.body.id, clientId);
    await db.insert(sessions).values(otherRow);
    for (const id of [clientId, "no-such-client"]) {
      const res = await send("DELETE", `/me/oauth/grants/${id}`, person.token);
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe("not_found");
    }
    const [after] = await db.select().from(sessions).where(eq(sessions.id, otherRow.id));
    expect(after?.revokedAt).toBeNull();
    expect((await auditRowsOf(person.body.id)).some((row) => row.type === "oauth_grant_revoked")).toBe(false);
  });

  it("answers 401 invalid_token on both routes for a bad token", async () => {
    for (const [method, path] of [
      ["GET", "/me/oauth/grants"],
      ["DELETE", "/me/oauth/grants/x"],
    ]) {
      const res = await call(path as string, { method, headers: bearer("a.b.c") });
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe("invalid_token");
    }
  });
});

describe("housekeeping of dynamically registered clients", () => {
  it("deletes dynamic clients and cached metadata documents unused for 30 days (last_used_at, else created_at) with their consents, and keeps the rest", async () => {
    const person = await registered();
    const now = new Date();
    const old = new Date(now.getTime() - 31 * DAY);
    const recent = new Date(now.getTime() - 29 * DAY);
    const ids = {
      neverUsed: `dyn-${crypto.randomUUID()}`,
      usedLongAgo: `dyn-${crypto.randomUUID()}`,
      usedRecently: `dyn-${crypto.randomUUID()}`,
      newAndUnused: `dyn-${crypto.randomUUID()}`,
      oldAdmin: `adm-${crypto.randomUUID()}`,
      oldDocument: `https://app.example.com/${crypto.randomUUID()}`,
      recentDocument: `https://app.example.com/${crypto.randomUUID()}`,
    };
    await db
      .insert(oauthClients)
      .values([
        clientRow(ids.neverUsed, "dynamic", old),
        clientRow(ids.usedLongAgo, "dynamic", old, old),
        clientRow(ids.usedRecently, "dynamic", old, recent),
        clientRow(ids.newAndUnused, "dynamic", recent),
        clientRow(ids.oldAdmin, "admin", old),
        clientRow(ids.oldDocument, "metadata_document", old),
        clientRow(ids.recentDocument, "metadata_document", old, recent),
      ]);
    await consent(person.body.id, ids.neverUsed, "openid", old);
    await consent(person.body.id, ids.usedRecently, "openid", old);

    const result = await housekeep(env, now);
    expect(result.removed.oauth_clients).toBeGreaterThanOrEqual(3);
    const left = (await db.select({ id: oauthClients.clientId }).from(oauthClients)).map((row) => row.id);
    expect(left).not.toContain(ids.neverUsed);
    expect(left).not.toContain(ids.usedLongAgo);
    // A cached metadata document unused as long goes too (the cache's bound).
    expect(left).not.toContain(ids.oldDocument);
    for (const kept of [ids.usedRecently, ids.newAndUnused, ids.oldAdmin, ids.recentDocument])
      expect(left).toContain(kept);
    const consents = await db.select().from(oauthConsents).where(eq(oauthConsents.userId, person.body.id));
    expect(consents.map((row) => row.clientId)).toEqual([ids.usedRecently]);
  });
});
