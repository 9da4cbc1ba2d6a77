import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it, vi } from "vitest";
import { auditIfChanged } from "../src/identity/audit";
import { insertUserQuery } from "../src/identity/queries/users";
import { endAllSessions, revokeSession, rotateSession } from "../src/identity/rotation";
import { prepareSession, startSession } from "../src/identity/sessions";
import { firstFactorOf, MFA_PURPOSE, requireSecondFactor, signIn } from "../src/identity/sign-in";
import { ACCESS_TOKEN_TYP, signJwt, verifyAccessToken, verifyJwt } from "../src/identity/tokens";
import { getConfig } from "../src/platform/config";
import type { Ctx } from "../src/platform/context";
import { ApiError } from "../src/platform/errors";
import { users } from "../src/platform/schema";
import { singleUseHash } from "../src/platform/single-use";
import { claimsOf } from "./helpers";

// The identity core called directly, without HTTP: plain inputs (a Ctx built here over the
// real D1 binding), the same rows and events the routes' tests see through the API.

const db = drizzle(env.DB);
const source = { ip: "203.0.113.7", userAgent: "identity-test", requestId: "req-1" };

function ctx(bindings: object = env, logged: unknown[][] = []): Ctx {
  return {
    db,
    config: getConfig(bindings),
    source,
    now: new Date(),
    log: (...line) => void logged.push(line),
    limit: async () => {},
  };
}

/** A user row straight through the core's own insert. */
async function newUser() {
  const id = crypto.randomUUID();
  const now = new Date();
  const values = { id, email: `core-${id}@example.com`, firstName: "Core", lastName: "Test", passwordHash: "x" };
  const [user] = await insertUserQuery(db, values, now);
  if (!user) throw new Error("no user");
  return user;
}

async function rows(sql: string, ...binds: unknown[]) {
  return (
    await env.DB.prepare(sql)
      .bind(...binds)
      .all<Record<string, unknown>>()
  ).results;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
  return undefined;
}

describe("startSession", () => {
  it("writes the session row and login_succeeded with the amr, and signs a pair for it", async () => {
    const user = await newUser();
    const started = await startSession(ctx(), { user, amr: ["hwk", "user", "mfa"], transport: "cookie" });
    expect(started.transport).toBe("cookie");
    const claims = claimsOf(started.body.token);
    expect(claims.amr).toEqual(["hwk", "user", "mfa"]);
    const [session] = await rows("select * from sessions where user_id = ?", user.id);
    expect(session).toMatchObject({ id: claims.sid, family_id: claims.sid, amr: "hwk user mfa", ip: source.ip });
    const [event] = await rows("select * from audit_events where user_id = ?", user.id);
    expect(event).toMatchObject({ type: "login_succeeded", request_id: "req-1", details: '{"amr":"hwk user mfa"}' });
  });

  it("forgets the email's failed logins only when asked", async () => {
    const user = await newUser();
    const fail = "insert into login_failures (email, failures, last_failure_at) values (?, 2, ?)";
    await env.DB.prepare(fail).bind(user.email, Date.now()).run();
    await startSession(ctx(), { user, amr: ["pwd"], transport: "body" });
    expect(await rows("select * from login_failures where email = ?", user.email)).toHaveLength(1);
    await startSession(ctx(), { user, amr: ["pwd"], transport: "body", clearFailures: true });
    expect(await rows("select * from login_failures where email = ?", user.email)).toHaveLength(0);
  });

  it("as statements for a registration: nothing starts when the user row is not there", async () => {
    const ghost = { ...(await newUser()), id: crypto.randomUUID() };
    const { statements } = await prepareSession(ctx(), {
      user: ghost,
      amr: ["pwd"],
      transport: "body",
      registering: true,
    });
    await db.batch(statements as [(typeof statements)[number]]);
    expect(await rows("select * from sessions where user_id = ?", ghost.id)).toEqual([]);
  });
});

describe("the sign-in gate", () => {
  it("answers mfa_required with an mfa_token that remembers the first factor", async () => {
    const user = await newUser();
    const error = await requireSecondFactor(ctx(), user, { amr: ["otp"], methods: ["totp"] }).catch((err) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("mfa_required");
    const hash = await singleUseHash((error.extra as { mfa_token: string }).mfa_token);
    const [row] = await rows("select * from single_use_tokens where token_hash = ? and purpose = ?", hash, MFA_PURPOSE);
    expect(firstFactorOf(row as { data: string | null })).toEqual(["otp"]);
    expect(firstFactorOf({ data: null })).toEqual(["pwd"]);
  });

  it("refuses a disabled account and, under REQUIRE_EMAIL_VERIFICATION, an unverified address", async () => {
    const user = await newUser();
    const start = { amr: ["pwd"], transport: "body" } as const;
    expect(await codeOf(signIn(ctx(), { ...start, user: { ...user, disabled: true } }))).toBe("invalid_credentials");
    const strict = {
      ...env,
      MAIL_TRANSPORT: "cloudflare",
      REQUIRE_EMAIL_VERIFICATION: "true",
      PUBLIC_URL: "https://auth.example.com",
      MAIL_FROM: "auth@example.com",
    };
    expect(await codeOf(signIn(ctx(strict), { ...start, user }))).toBe("email_not_verified");
    expect(await rows("select * from sessions where user_id = ?", user.id)).toEqual([]);
  });
});

describe("rotation and revocation", () => {
  it("rotates, and a token presented again after the reuse interval revokes the family", async () => {
    const user = await newUser();
    const first = await startSession(ctx(), { user, amr: ["pwd"], transport: "body" });
    const second = await rotateSession(ctx(), first.body.refresh_token, "body");
    expect(claimsOf(second.body.token).amr).toEqual(["pwd"]);
    const logged: unknown[][] = [];
    const later = { ...ctx(env, logged), now: new Date(Date.now() + 3600_000) };
    expect(await codeOf(rotateSession(later, first.body.refresh_token, "body"))).toBe("invalid_token");
    expect(logged.map(([, event]) => event)).toEqual(["refresh_token_reuse"]);
    expect(await codeOf(rotateSession(ctx(), second.body.refresh_token, "body"))).toBe("invalid_token");
    const events = await rows("select type from audit_events where user_id = ? order by time, rowid", user.id);
    expect(events.map((e) => e.type)).toEqual(["login_succeeded", "refresh_token_reused"]);
  });

  it("revokes one session by id (audited only when it was live) and all of them", async () => {
    const user = await newUser();
    const a = await startSession(ctx(), { user, amr: ["pwd"], transport: "body" });
    await startSession(ctx(), { user, amr: ["pwd"], transport: "body" });
    const sid = claimsOf(a.body.token).sid as string;
    expect(await revokeSession(ctx(), user.id, sid)).toBe(true);
    expect(await revokeSession(ctx(), user.id, sid)).toBe(false);
    await endAllSessions(ctx(), user.id);
    const live = await rows("select * from sessions where user_id = ? and revoked_at is null", user.id);
    expect(live).toEqual([]);
    const types = (await rows("select type from audit_events where user_id = ?", user.id)).map((e) => e.type);
    expect(types.filter((type) => type === "session_revoked")).toHaveLength(1);
  });
});

describe("auditIfChanged", () => {
  it("writes the events only when the change changed a row", async () => {
    const user = await newUser();
    const event = { type: "role_changed", userId: user.id, actor: { type: "system" }, source } as const;
    const missing = db.update(users).set({ firstName: "X" }).where(eq(users.id, crypto.randomUUID()));
    const real = db.update(users).set({ firstName: "Y" }).where(eq(users.id, user.id));
    await db.batch([...auditIfChanged(db, missing, event, new Date())]);
    expect(await rows("select * from audit_events where user_id = ?", user.id)).toEqual([]);
    await db.batch([...auditIfChanged(db, real, [event, { ...event, type: "account_enabled" }], new Date())]);
    const types = (await rows("select type from audit_events where user_id = ?", user.id)).map((e) => e.type);
    expect(types.sort()).toEqual(["account_enabled", "role_changed"]);
  });
});

describe("tokens", () => {
  it("signs with the CryptoKey imported once: no key import per signature, ES256 too", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const jwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid: "k1" };
    const config = getConfig({ ...env, JWT_ALG: "ES256", JWT_PRIVATE_KEYS: JSON.stringify([jwk]) });
    await signJwt(config, { warm: true });
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    try {
      const now = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 3; i++) {
        const token = await signJwt(config, {
          sub: "u",
          user_id: "u",
          email: "u@example.com",
          iat: now,
          exp: now + 60,
        });
        expect((await verifyAccessToken(token, config)).sub).toBe("u");
      }
      expect(importKey).not.toHaveBeenCalled();
    } finally {
      importKey.mockRestore();
    }
  });

  it("signs any typ and claims with the same keys; the API's verifier takes only its own", async () => {
    const config = ctx().config;
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "u", user_id: "u", email: "u@example.com", iat: now, exp: now + 60 };
    const access = await signJwt(config, claims);
    const header = JSON.parse(atob((access.split(".")[0] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    expect(header).toEqual({ alg: config.signing.alg, typ: ACCESS_TOKEN_TYP });
    expect((await verifyAccessToken(access, config)).sub).toBe("u");
    const oauth = await signJwt(config, claims, { typ: "at+jwt" });
    expect(await codeOf(verifyAccessToken(oauth, config))).toBe("invalid_token");
    expect((await verifyJwt(config, oauth, "at+jwt")).sub).toBe("u");
    expect(await codeOf(verifyJwt(config, access, "at+jwt"))).toBe("invalid_token");
    // An id_token is `typ: JWT` too, but never carries user_id.
    const { user_id: _, ...idToken } = claims;
    expect(await codeOf(verifyAccessToken(await signJwt(config, idToken), config))).toBe("invalid_token");
  });
});
