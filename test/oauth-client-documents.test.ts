import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, inject, it, vi } from "vitest";
import { documentTtl, documentUrl } from "../src/features/oauth/client-documents";
import { findClient, markClientUsed } from "../src/features/oauth/clients";
import { getConfig } from "../src/platform/config";
import type { Ctx } from "../src/platform/context";
import { oauthClients } from "../src/platform/schema-oauth";
import { OAUTH_ON } from "./oauth-env";
import { clientRow } from "./oauth-rows";

// Client ID Metadata Documents: findClient fetches a client_id that is a document's URL from
// a real web server (test/support/client-documents.ts, Node on loopback), checks it and
// caches it in oauth_clients.

const db = drizzle(env.DB);
const documents = inject("documentsUrl");

function ctxAt(now: Date, overrides: Record<string, string> = {}): Ctx & { logged: unknown[][] } {
  const logged: unknown[][] = [];
  return {
    db,
    config: getConfig({ ...env, ...OAUTH_ON, ...overrides } as Cloudflare.Env),
    source: { ip: null, userAgent: null, requestId: null },
    now,
    log: (...args) => logged.push(args),
    limit: async () => {},
    logged,
  };
}

/** A fresh document URL of `kind` (each test its own, so caches never meet). */
const url = (kind: string) => `${documents}/${kind}/${crypto.randomUUID()}`;

async function rowOf(clientId: string) {
  const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, clientId));
  return row;
}

describe("findClient with a client ID metadata document", () => {
  it("fetches the document, answers it as a public client and caches it for its max-age", async () => {
    const clientId = url("good");
    const now = new Date();
    const client = await findClient(ctxAt(now), clientId);
    expect(client).toMatchObject({
      clientId,
      clientName: "Doc client (served 1)",
      type: "public",
      registration: "metadata_document",
      secretHash: null,
      tokenEndpointAuthMethod: "none",
      redirectUris: ["http://127.0.0.1:7777/callback"],
      grantTypes: ["authorization_code"],
      scope: ["mcp", "openid"],
      firstParty: false,
      metadata: { client_uri: "https://app.example.com" },
    });
    expect((await rowOf(clientId))?.expiresAt?.getTime()).toBe(now.getTime() + 600_000);
    // Fresh: served from the row, not fetched again.
    expect((await findClient(ctxAt(new Date(now.getTime() + 599_000)), clientId))?.clientName).toBe(
      "Doc client (served 1)",
    );
    // Stale: fetched again, and the row refreshed.
    const later = new Date(now.getTime() + 601_000);
    expect((await findClient(ctxAt(later), clientId))?.clientName).toBe("Doc client (served 2)");
    expect((await rowOf(clientId))?.expiresAt?.getTime()).toBe(later.getTime() + 600_000);
  });

  it("uses a no-store document for this request only, and keeps a short max-age for 5 minutes", async () => {
    const noStore = url("no-store");
    const now = new Date();
    expect((await findClient(ctxAt(now), noStore))?.clientName).toBe("Doc client (served 1)");
    expect((await findClient(ctxAt(now), noStore))?.clientName).toBe("Doc client (served 2)");
    const short = url("short");
    await findClient(ctxAt(now), short);
    expect((await rowOf(short))?.expiresAt?.getTime()).toBe(now.getTime() + 300_000);
  });

  it.each([
    ["larger than 5 KiB", "big", /larger than 5120/],
    ["larger than 5 KiB, without a Content-Length", "big-chunked", /larger than 5120/],
    ["a redirect", "redirect", /redirect/],
    ["a document whose client_id is another URL", "wrong-id", /client_id is not its URL/],
    ["not JSON", "not-json", /not JSON/],
    ["a 404", "missing", /status 404/],
    ["a secret auth method", "secret", /must be none/],
    ["private_key_jwt", "private-key-jwt", /must be none/],
    ["no redirect_uris", "no-redirects", /invalid_redirect_uri/],
    ["a plain-http redirect URI", "bad-redirect", /invalid_redirect_uri/],
  ])("refuses %s: no client, nothing cached, the reason logged", async (_label, kind, reason) => {
    const clientId = url(kind);
    const ctx = ctxAt(new Date());
    expect(await findClient(ctx, clientId)).toBeUndefined();
    expect(await rowOf(clientId)).toBeUndefined();
    expect(ctx.logged).toEqual([
      ["warn", "oauth_client_document_refused", { client_id: clientId, reason: expect.stringMatching(reason) }],
    ]);
  });

  it("gives up on a document that takes longer than 5 seconds", async () => {
    const clientId = url("slow");
    const ctx = ctxAt(new Date());
    const started = Date.now();
    expect(await findClient(ctx, clientId)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(6_500);
    expect(ctx.logged[0]?.[2]).toMatchObject({ reason: expect.stringMatching(/within 5000 ms/) });
  }, 10_000);

  it("does not serve a stale cached document whose server is gone", async () => {
    const clientId = `${documents}/missing/${crypto.randomUUID()}`;
    const past = new Date(Date.now() - 3600_000);
    await db.insert(oauthClients).values({ ...clientRow(clientId, "metadata_document", past), expiresAt: past });
    expect(await findClient(ctxAt(new Date()), clientId)).toBeUndefined();
  });

  it("fetches nothing and serves no cached document while OAUTH_CLIENT_METADATA_DOCUMENTS is off", async () => {
    const clientId = url("good");
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    try {
      expect(
        await findClient(ctxAt(new Date(), { OAUTH_CLIENT_METADATA_DOCUMENTS: "false" }), clientId),
      ).toBeUndefined();
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
    await findClient(ctxAt(new Date()), clientId);
    expect(await rowOf(clientId)).toBeDefined();
    expect(await findClient(ctxAt(new Date(), { OAUTH_CLIENT_METADATA_DOCUMENTS: "false" }), clientId)).toBeUndefined();
  });

  it("still finds registered clients by one read, with when they were last used", async () => {
    const clientId = `admin-${crypto.randomUUID()}`;
    await db.insert(oauthClients).values(clientRow(clientId, "admin", new Date()));
    expect((await findClient(ctxAt(new Date()), clientId))?.registration).toBe("admin");
    const used = new Date();
    await markClientUsed(db, clientId, used);
    expect((await findClient(ctxAt(new Date()), clientId))?.lastUsedAt).toEqual(used);
    expect(await findClient(ctxAt(new Date()), "no-such-client")).toBeUndefined();
    expect(await findClient(ctxAt(new Date()), "")).toBeUndefined();
  });
});

describe("documentUrl: which client_ids are documents to fetch", () => {
  const production = { localDocuments: false };
  const local = { localDocuments: true };
  it.each([
    "https://app.example.com/oauth/client.json",
    "https://app.example.com:8443/c",
    "https://203.0.113.7/client",
    "https://[2001:db8::1]/client",
  ])("fetches %s everywhere", (clientId) => {
    expect(documentUrl(clientId, production)?.href).toBe(new URL(clientId).href);
  });

  it.each([
    ["no path", "https://app.example.com/"],
    ["no path at all", "https://app.example.com"],
    ["plain http", "http://app.example.com/client"],
    ["a fragment", "https://app.example.com/client#x"],
    ["credentials", "https://u:p@app.example.com/client"],
    ["localhost", "https://localhost/client"],
    ["a .localhost name", "https://app.localhost/client"],
    ["a .local name", "https://printer.local/client"],
    ["an .internal name", "https://db.internal/client"],
    ["loopback IPv4", "https://127.0.0.1/client"],
    ["loopback IPv4 as a number", "https://2130706433/client"],
    ["private 10/8", "https://10.1.2.3/client"],
    ["private 172.16/12", "https://172.20.0.1/client"],
    ["private 192.168/16", "https://192.168.1.1/client"],
    ["link-local (cloud metadata)", "https://169.254.169.254/latest"],
    ["shared 100.64/10", "https://100.64.0.1/client"],
    ["unspecified", "https://0.0.0.0/client"],
    ["IPv6 loopback", "https://[::1]/client"],
    ["IPv6 unique local", "https://[fd00::1]/client"],
    ["IPv6 link-local", "https://[fe80::1]/client"],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/client"],
    ["IPv4-mapped link-local", "https://[::ffff:169.254.169.254]/latest"],
    ["IPv4-compatible loopback", "https://[::127.0.0.1]/client"],
    ["NAT64 of a private address", "https://[64:ff9b::10.0.0.1]/client"],
    ["6to4 of loopback", "https://[2002:7f00:1::1]/client"],
    ["IPv6 unspecified", "https://[::]/client"],
    ["loopback in octal", "https://0177.0.0.1/client"],
    ["loopback in hex", "https://0x7f.1/client"],
    ["not a URL", "my-client"],
    ["another scheme", "ftp://app.example.com/client"],
  ])("refuses %s outside dev/test", (_label, clientId) => {
    expect(documentUrl(clientId, production)).toBeUndefined();
  });

  it("allows http://localhost and http://127.0.0.1 on any port, and private hosts, only in dev/test", () => {
    for (const clientId of ["http://localhost:3000/client", "http://127.0.0.1:9/c", "https://10.0.0.1/client"]) {
      expect(documentUrl(clientId, local), clientId).toBeDefined();
      expect(documentUrl(clientId, production), clientId).toBeUndefined();
    }
    expect(documentUrl("http://10.0.0.1/client", local)).toBeUndefined();
    expect(documentUrl("http://localhost:3000/", local)).toBeUndefined();
  });
});

describe("documentTtl: how long a document is cached", () => {
  it.each([
    [null, 300],
    ["max-age=600", 600],
    ["public, max-age=120", 300],
    ["max-age=999999", 86_400],
    ["no-store", 0],
    ["no-cache, max-age=600", 0],
    ["max-age=abc", 300],
  ])("Cache-Control %s: %i s", (header, seconds) => {
    expect(documentTtl(header)).toBe(seconds);
  });
});
