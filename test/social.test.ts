import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { mintLoginCode } from "../src/identity/exchange";
import { insertIdentityOfNewUser } from "../src/identity/queries/identities";
import { insertUserQuery } from "../src/identity/queries/users";
import { ConfigError, readConfig } from "../src/platform/config";
import { identities, NO_PASSWORD, users } from "../src/platform/schema";
import { call, errorOf, type Json, postJson, promote, randomAddress, registered, send, uniqueEmail } from "./helpers";
import {
  errorCode,
  inbox,
  linkToken,
  login as mailLogin,
  post as mailPost,
  register as registerWithMail,
} from "./mail";

// Social sign-in without a provider: its settings' rules, and every answer its routes give
// before the browser leaves for the provider. The trips themselves (against a real OpenID
// provider) are in test/http/social.test.ts.

const db = drizzle(env.DB);
const SECRETS = { TOKEN_KEY: "k".repeat(32), MFA_ENCRYPTION_KEY: "m".repeat(32) };
const ACME = {
  SOCIAL_PROVIDERS: "acme",
  SOCIAL_ACME_ISSUER: "https://idp.example.com",
  SOCIAL_ACME_CLIENT_ID: "client-1",
  PUBLIC_URL: "https://api.example.com",
  SOCIAL_REDIRECT_ORIGINS: "https://app.example.com",
};
const APP = "https://app.example.com/after";
const withAcme = ACME as unknown as Partial<Cloudflare.Env>;

/** The problems readConfig reports for `env`. */
function problemsOf(vars: Record<string, string>): string[] {
  try {
    readConfig({ ...SECRETS, ...vars });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("social sign-in's settings", () => {
  it("reads the providers: names, scopes and presets, off by default", () => {
    expect(readConfig({ ...SECRETS }).social).toEqual({ providers: [], autoLink: "verified" });
    const config = readConfig({
      ...SECRETS,
      ...ACME,
      SOCIAL_PROVIDERS: "acme,google,9lives",
      SOCIAL_GOOGLE_CLIENT_ID: "g",
      SOCIAL_GOOGLE_CLIENT_SECRET: "gs",
      SOCIAL_9LIVES_ISSUER: "https://9.example.com/tenant",
      SOCIAL_9LIVES_CLIENT_ID: "n",
      SOCIAL_9LIVES_NAME: "Nine",
      SOCIAL_9LIVES_SCOPES: "openid email",
      SOCIAL_AUTO_LINK: "off",
    });
    expect(config.social.autoLink).toBe("off");
    expect(
      config.social.providers.map(({ id, name, issuer, scopes, clientSecret }) => ({
        id,
        name,
        issuer,
        scopes,
        clientSecret,
      })),
    ).toEqual([
      { id: "acme", name: "acme", issuer: "https://idp.example.com", scopes: "openid email profile", clientSecret: "" },
      {
        id: "google",
        name: "Google",
        issuer: "https://accounts.google.com",
        scopes: "openid email profile",
        clientSecret: "gs",
      },
      { id: "9lives", name: "Nine", issuer: "https://9.example.com/tenant", scopes: "openid email", clientSecret: "" },
    ]);
  });

  it("fails closed at start, naming each refused setting", () => {
    const { PUBLIC_URL: _, ...noPublicUrl } = ACME;
    expect(problemsOf(noPublicUrl).join("\n")).toMatch(/SOCIAL_PROVIDERS needs PUBLIC_URL/);
    expect(problemsOf({ ...ACME, SOCIAL_ACME_ISSUER: "" })).toEqual([
      "SOCIAL_ACME_ISSUER is not set: acme is not a preset, so it needs its OpenID Connect issuer",
    ]);
    expect(problemsOf({ ...ACME, SOCIAL_ACME_CLIENT_ID: "" }).join()).toMatch(/^SOCIAL_ACME_CLIENT_ID is not set/);
    expect(problemsOf({ ...ACME, SOCIAL_ACME_ISSUER: "http://idp.example.com" }).join()).toMatch(
      /^SOCIAL_ACME_ISSUER must be https:\/\//,
    );
    // Loopback over http only in dev and test.
    const loopback = { ...ACME, SOCIAL_ACME_ISSUER: "http://127.0.0.1:9400" };
    expect(problemsOf({ ...loopback, ENVIRONMENT: "production" }).join()).toMatch(/only with ENVIRONMENT dev or test/);
    expect(problemsOf({ ...loopback, ENVIRONMENT: "dev" })).toEqual([]);
    expect(problemsOf({ ...ACME, SOCIAL_PROVIDERS: "Acme" }).join()).toMatch(/SOCIAL_PROVIDERS entry "Acme"/);
    expect(
      problemsOf({
        ...ACME,
        SOCIAL_PROVIDERS: "google",
        SOCIAL_GOOGLE_CLIENT_ID: "g",
        SOCIAL_GOOGLE_ISSUER: "https://evil.example",
      }).join(),
    ).toMatch(/SOCIAL_GOOGLE_ISSUER must not be set/);
    expect(problemsOf({ ...ACME, SOCIAL_PROVIDERS: "apple", SOCIAL_APPLE_CLIENT_ID: "a" })).toEqual([
      "SOCIAL_APPLE_KEY_ID is not set: the apple provider signs its client secret with it",
      "SOCIAL_APPLE_TEAM_ID is not set: the apple provider's client secret names it",
      "SOCIAL_APPLE_PRIVATE_KEY is not set to the .p8 key (PKCS#8 PEM, -----BEGIN PRIVATE KEY-----)",
    ]);
    expect(problemsOf({ ...ACME, SOCIAL_AUTO_LINK: "always" }).join()).toMatch(/SOCIAL_AUTO_LINK/);
  });
});

describe("social sign-in's routes before the provider", () => {
  it("GET /login/social lists nothing when social sign-in is off", async () => {
    const res = await call("/login/social");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ providers: [] });
  });

  it("GET /login/social/:id: 404 for an unknown provider, 400 invalid_redirect for a missing or foreign redirect_to", async () => {
    expect((await errorOf(await call(`/login/social/other?redirect_to=${APP}`, {}, withAcme))).code).toBe("not_found");
    for (const query of [
      "",
      "?redirect_to=https://evil.example/",
      `?redirect_to=${encodeURIComponent("https://user@app.example.com/")}`,
    ]) {
      const res = await call(`/login/social/acme${query}`, {}, withAcme);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_redirect");
    }
  });

  it("GET /login/social/:id with a used, unknown or other provider's link: 400 invalid_code; per-IP limited", async () => {
    const headers = { "cf-connecting-ip": randomAddress() };
    const res = await call(`/login/social/acme?redirect_to=${APP}&link=nope`, { headers }, withAcme);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_code");
    // Local rate-limit windows follow wall-clock minutes: enough requests that one window
    // holds more than the limit even when a minute turns during the loop.
    for (let i = 0; i < 250; i++) {
      const next = await call(`/login/social/acme?redirect_to=${APP}&link=nope`, { headers }, withAcme);
      if (next.status === 429) {
        expect((await errorOf(next)).code).toBe("rate_limited");
        return;
      }
    }
    throw new Error("no 429");
  });

  it("the callback of an unknown provider is 404; an unknown state or a missing cookie is the 400 page", async () => {
    expect((await call("/login/social/other/callback?state=x", {}, withAcme)).status).toBe(404);
    const form = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "state=x" };
    expect((await errorOf(await call("/login/social/other/callback", form, withAcme))).code).toBe("not_found");
    const page = await call("/login/social/acme/callback?state=x&code=y", {}, withAcme);
    expect(page.status).toBe(400);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("location")).toBeNull();
    // With the browser's cookie but a state no trip recorded: the same page, no redirect.
    const cookie = { cookie: `social_state=${"c".repeat(43)}` };
    const unknown = await call("/login/social/acme/callback?state=x&code=y", { headers: cookie }, withAcme);
    expect([unknown.status, unknown.headers.get("location")]).toEqual([400, null]);
    expect(unknown.headers.get("content-type")).toMatch(/^text\/html/);
    const posted = await call(
      "/login/social/acme/callback",
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "state=x&code=y&reposted=1",
      },
      withAcme,
    );
    expect(posted.status).toBe(400);
  });
});

describe("linked identities", () => {
  it("POST /me/identities/:provider answers a one-time authorize_url on this API; 404, 400 invalid_redirect, 400 invalid_input", async () => {
    const { body } = await registered();
    const token = String(body.token);
    const res = await call(
      "/me/identities/acme",
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ redirect_to: APP }),
      },
      withAcme,
    );
    expect(res.status).toBe(200);
    const url = new URL(((await res.json()) as { authorize_url: string }).authorize_url);
    expect(url.origin + url.pathname).toBe("https://api.example.com/login/social/acme");
    expect(url.searchParams.get("redirect_to")).toBe(APP);
    expect(url.searchParams.get("link")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const post = (path: string, json: unknown) =>
      call(
        path,
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(json),
        },
        withAcme,
      );
    expect((await errorOf(await post("/me/identities/other", { redirect_to: APP }))).code).toBe("not_found");
    expect((await errorOf(await post("/me/identities/acme", { redirect_to: "https://evil.example/" }))).code).toBe(
      "invalid_redirect",
    );
    expect((await errorOf(await post("/me/identities/acme", {}))).code).toBe("invalid_input");
    // HEAD (a link preview, a prefetch) spends nothing: 405, and the link still works.
    for (let i = 0; i < 3; i++) {
      const head = await call(`${url.pathname}${url.search}`, { method: "HEAD" }, withAcme);
      expect(head.status).toBe(405);
      expect(head.headers.get("allow")).toBe("GET");
    }
    const head = await call("/login/social/acme/callback?state=x&code=y", { method: "HEAD" }, withAcme);
    expect([head.status, head.headers.get("allow")]).toEqual([405, "GET, POST"]);
    const live = await env.DB.prepare(
      "select count(*) as n from single_use_tokens where user_id = ? and purpose = 'social_link' and used_at is null",
    )
      .bind(body.id)
      .first();
    expect(live).toEqual({ n: 1 });
  });

  it("lists the account's identities; unlinks one while another way in remains; 409 last_sign_in_method, 404 for another's", async () => {
    // An account a social sign-in made: no password, one identity.
    const id = crypto.randomUUID();
    const now = new Date();
    await db.insert(users).values({
      id,
      email: uniqueEmail("social"),
      firstName: "Ada",
      lastName: "L",
      passwordHash: NO_PASSWORD,
      createdAt: now,
      updatedAt: now,
    });
    const rows = ["one", "two"].map((subject) => ({
      id: crypto.randomUUID(),
      userId: id,
      provider: "acme",
      issuer: "https://idp.example.com",
      subject: `${id}-${subject}`,
      email: null,
      createdAt: now,
    }));
    await db.insert(identities).values(rows);
    const { value, insert } = await mintLoginCode({ db, now }, id, ["fed"]);
    await insert;
    const signedIn = (await (await postJson("/login/exchange", { code: value })).json()) as Json;
    const token = String(signedIn.token);

    const list = await send("GET", "/me/identities", token);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { identities: Json[] }).identities.map((row) => row.id).sort()).toEqual(
      rows.map((row) => row.id).sort(),
    );
    expect((await send("DELETE", `/me/identities/${rows[0]?.id}`, token)).status).toBe(204);
    const last = await send("DELETE", `/me/identities/${rows[1]?.id}`, token);
    expect(last.status).toBe(409);
    expect((await errorOf(last)).code).toBe("last_sign_in_method");
    const { body: other } = await registered();
    const foreign = await send("DELETE", `/me/identities/${rows[1]?.id}`, String(other.token));
    expect((await errorOf(foreign)).code).toBe("not_found");
    // The admin's view of the user lists what remains.
    const { body: admin } = await registered();
    await promote(String(admin.id));
    const viewed = await send("GET", `/admin/users/${id}`, String(admin.token));
    expect(viewed.status).toBe(200);
    const view = (await viewed.json()) as { identities: Json[] };
    expect(view.identities).toEqual([
      { id: rows[1]?.id, provider: "acme", email: null, created_at: now.toISOString() },
    ]);
    // A password login of the account without one fails like a wrong password (a non-empty
    // one: an empty password is refused by the field rules before any account is read).
    const login = await postJson("/login", { email: signedIn.email, password: "any password at all" });
    expect(login.status).toBe(400);
    expect((await errorOf(login)).code).toBe("invalid_credentials");
  });
});

describe("an account a social sign-in creates", () => {
  it("gets its identity in the same batch, only if the account's insert won", async () => {
    const db = drizzle(env.DB);
    const id = crypto.randomUUID();
    const row = {
      id: crypto.randomUUID(),
      userId: id,
      provider: "mock",
      issuer: "https://idp.example",
      subject: `sub-${id}`,
      email: null,
      createdAt: new Date(),
    };
    // The account's insert lost (no such user): no identity either.
    await insertIdentityOfNewUser(db, row);
    expect(await db.select().from(identities).where(eq(identities.subject, row.subject))).toEqual([]);
    const email = uniqueEmail("social-new");
    const account = { id, email, firstName: "N", lastName: "U", passwordHash: NO_PASSWORD, emailVerifiedAt: null };
    await db.batch([insertUserQuery(db, account, new Date()), insertIdentityOfNewUser(db, row)]);
    expect(await db.select().from(identities).where(eq(identities.subject, row.subject))).toHaveLength(1);
  });
});

describe("an account without a password", () => {
  it("refuses password logins, and a password reset sets one that then works", async () => {
    const account = await registerWithMail();
    await env.DB.prepare("update users set password_hash = ? where id = ?").bind(NO_PASSWORD, account.body.id).run();
    const email = account.input.email;
    expect(await errorCode(await mailLogin(email, account.input.password))).toBe("invalid_credentials");
    expect(await errorCode(await mailLogin(email, ""))).toBe("invalid_input");
    expect((await mailPost("/password/forgot", { email })).status).toBe(202);
    const mail = (await inbox(email, 2)).find((each) => each.subject.endsWith("reset your password"));
    const token = linkToken(mail, "/password/reset");
    const newPassword = "a passphrase of my own";
    expect((await mailPost("/password/reset", { token, newPassword })).status).toBe(204);
    expect((await mailLogin(email, newPassword)).status).toBe(200);
  });
});
