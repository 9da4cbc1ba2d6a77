import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { mintLoginCode } from "../src/identity/exchange";
import { readConfig } from "../src/platform/config";
import { ApiError } from "../src/platform/errors";
import { allowedRedirect, redirectWith } from "../src/platform/redirects";
import {
  call,
  claimsOf,
  errorOf,
  type Json,
  postJson,
  randomAddress,
  registered,
  SIGNED_IN_FIELDS,
  send,
} from "./helpers";
import { withMail } from "./mail";
import { at, atStepMiddle, codeAt, withTotp } from "./totp";

// POST /login/exchange: the one way a sign-in that ends in a browser redirect hands a
// session to an app (src/identity/exchange.ts), and the allowlist its redirects go
// through (src/platform/redirects.ts). Codes are minted here as the flows mint them.

atStepMiddle();

const db = drizzle(env.DB);

/** A live one-time code for `userId`, as social sign-in or an email link mints it. */
async function codeFor(userId: string, amr: string[] = ["fed"], now = new Date()) {
  const { value, insert } = await mintLoginCode({ db, now }, userId, amr);
  await insert;
  return value;
}

const exchange = (body: unknown, headers: Record<string, string> = {}) => postJson("/login/exchange", body, headers);

describe("POST /login/exchange", () => {
  it("answers exactly /login's body, with the code's amr in the token, the session row and login_succeeded", async () => {
    const { body: user } = await registered();
    const res = await exchange({ code: await codeFor(String(user.id)) });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Json & { token: string };
    expect(Object.keys(body)).toEqual(SIGNED_IN_FIELDS);
    expect(body.id).toBe(user.id);
    const { sid, amr } = claimsOf(body.token) as { sid: string; amr: string[] };
    expect(amr).toEqual(["fed"]);
    const session = await env.DB.prepare("select amr from sessions where id = ?").bind(sid).first();
    expect(session).toEqual({ amr: "fed" });
    const event = await env.DB.prepare(
      "select details from audit_events where user_id = ? and type = 'login_succeeded' order by time desc, rowid desc",
    )
      .bind(user.id)
      .first();
    expect(event).toEqual({ details: '{"amr":"fed"}' });
    expect((await send("GET", "/me", body.token)).status).toBe(200);
  });

  it("puts the refresh token in the HttpOnly cookie with refresh_transport cookie", async () => {
    const { body: user } = await registered();
    const res = await exchange({ code: await codeFor(String(user.id), ["otp"]), refresh_transport: "cookie" });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/^__Secure-refresh_token=[\w-]+;.*HttpOnly/);
    expect(claimsOf(((await res.json()) as { token: string }).token).amr).toEqual(["otp"]);
  });

  it("works once: a second use, even at the same moment, is 400 invalid_code", async () => {
    const { body: user } = await registered();
    const code = await codeFor(String(user.id));
    const [first, second] = await Promise.all([exchange({ code }), exchange({ code })]);
    expect([first.status, second.status].sort()).toEqual([200, 400]);
    expect((await errorOf(await exchange({ code }))).code).toBe("invalid_code");
  });

  it("refuses an expired, unknown, malformed or oversized code with 400 invalid_code, and a missing one as invalid_input", async () => {
    const { body: user } = await registered();
    const expired = await codeFor(String(user.id), ["fed"], at(-61));
    for (const code of [expired, "x".repeat(43), "not a code!", "é", "a".repeat(5000)]) {
      const res = await exchange({ code });
      expect(res.status, code.slice(0, 20)).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_code");
    }
    for (const body of [{}, { code: "" }, { code: null }, { code: 42 }, { code: ["a"] }]) {
      expect((await errorOf(await exchange(body))).code, JSON.stringify(body)).toBe("invalid_input");
    }
    expect((await errorOf(await exchange({ code: expired, refresh_transport: "url" }))).code).toBe("invalid_input");
  });

  it("is one factor: an account with TOTP gets 403 mfa_required, and the second step records both", async () => {
    const user = await withTotp();
    const res = await exchange({ code: await codeFor(String(user.body.id)) });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string }; mfa_token: string; mfa_methods: string[] };
    expect(body.error.code).toBe("mfa_required");
    expect(body.mfa_methods).toEqual(["totp", "recovery_code"]);
    const done = await postJson("/login/mfa", { mfa_token: body.mfa_token, code: codeAt(user.secret, at(0)) });
    expect(done.status).toBe(200);
    expect(claimsOf(((await done.json()) as { token: string }).token).amr).toEqual(["fed", "otp", "mfa"]);
  });

  it("dies with the account's recovery events: after POST /logout/all the code is invalid_code", async () => {
    const { body: user, token } = await registered();
    const code = await codeFor(String(user.id));
    expect((await send("POST", "/logout/all", token)).status).toBe(204);
    expect((await errorOf(await exchange({ code }))).code).toBe("invalid_code");
  });

  it("refuses a disabled account's code (disabling retires it)", async () => {
    const { body: user } = await registered();
    const code = await codeFor(String(user.id));
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(user.id).run();
    const res = await exchange({ code });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_code");
  });

  it("answers 403 email_not_verified for an unverified address under REQUIRE_EMAIL_VERIFICATION", async () => {
    const { body: user } = await registered();
    const overrides = {
      REQUIRE_EMAIL_VERIFICATION: "true",
      MAIL_TRANSPORT: "smtp",
      SMTP_URL: "smtp://127.0.0.1:9",
      MAIL_FROM: "no-reply@example.com",
      PUBLIC_URL: "https://auth.example.com",
    };
    const res = await postJson("/login/exchange", { code: await codeFor(String(user.id)) }, {}, overrides);
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("email_not_verified");
  });

  it("counts against the per-IP login limit (429)", async () => {
    const headers = { "cf-connecting-ip": `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 250) + 1).join(".")}` };
    let res: Response | undefined;
    for (let i = 0; i < 210; i++) {
      res = await exchange({ code: "x" }, headers);
      if (res.status === 429) break;
    }
    expect(res?.status).toBe(429);
    expect((await errorOf(res as Response)).code).toBe("rate_limited");
  }, 30_000);
});

describe("POST /login/exchange under the account's rules and the per-IP limit", () => {
  it("answers 403 email_not_verified for an unverified address under REQUIRE_EMAIL_VERIFICATION", async () => {
    const { body: user } = await registered();
    const headers = { "content-type": "application/json", "cf-connecting-ip": randomAddress() };
    const body = JSON.stringify({ code: await codeFor(String(user.id)) });
    const res = await call(
      "/login/exchange",
      { method: "POST", headers, body },
      { ...withMail, REQUIRE_EMAIL_VERIFICATION: "true" },
    );
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe("email_not_verified");
  });

  it("counts against the per-IP login limit: 429 rate_limited", async () => {
    const headers = { "content-type": "application/json", "cf-connecting-ip": randomAddress() };
    // Local rate-limit windows follow wall-clock minutes: enough requests that one window
    // holds more than the limit even when a minute turns during the loop.
    for (let i = 0; i < 250; i++) {
      const res = await call("/login/exchange", { method: "POST", headers, body: JSON.stringify({ code: "unknown" }) });
      if (res.status === 429) {
        expect((await errorOf(res)).code).toBe("rate_limited");
        return;
      }
    }
    throw new Error("no 429");
  });
});

describe("redirect_to allowlist", () => {
  const config = (vars: Record<string, string>) => readConfig({ ...env, ...vars });

  it("defaults to the CORS_ORIGINS entries plus APP_URL's origin; * contributes none", () => {
    const listed = config({
      CORS_ORIGINS: "https://a.example, https://b.example",
      APP_URL: "https://app.example/base",
    });
    expect(listed.redirectOrigins).toEqual(["https://a.example", "https://b.example", "https://app.example"]);
    expect(config({ CORS_ORIGINS: "*", APP_URL: "" }).redirectOrigins).toEqual([]);
    const set = config({ CORS_ORIGINS: "https://a.example", SOCIAL_REDIRECT_ORIGINS: "http://localhost:5173" });
    expect(set.redirectOrigins).toEqual(["http://localhost:5173"]);
  });

  it("refuses a SOCIAL_REDIRECT_ORIGINS entry that is not an origin, naming the setting", () => {
    expect(() => config({ SOCIAL_REDIRECT_ORIGINS: "https://a.example/path" })).toThrow(/SOCIAL_REDIRECT_ORIGINS/);
  });

  it("accepts exactly the listed origins and refuses near misses with 400 invalid_redirect", () => {
    const allowed = config({ SOCIAL_REDIRECT_ORIGINS: "https://app.example, http://localhost:5173" });
    expect(allowedRedirect(allowed, "https://app.example/signed-in?x=1#top").href).toBe(
      "https://app.example/signed-in?x=1#top",
    );
    expect(allowedRedirect(allowed, "http://localhost:5173/").origin).toBe("http://localhost:5173");
    const refused = [
      undefined,
      42,
      "",
      "/signed-in",
      "//app.example/x",
      "https://app.example.evil.test/",
      "https://evil.test/?https://app.example",
      "https://app.example@evil.test/",
      "https://user:pw@app.example/",
      "http://app.example/",
      "https://app.example:444/",
      "http://localhost:5174/",
      "javascript:alert(1)//https://app.example",
      "data:text/html,https://app.example",
      `https://app.example/${"a".repeat(2100)}`,
    ];
    for (const raw of refused) {
      let code: string | undefined;
      try {
        allowedRedirect(allowed, raw);
      } catch (err) {
        code = err instanceof ApiError ? err.code : "other";
      }
      expect(code, String(raw)).toBe("invalid_redirect");
    }
  });

  it("tells one outcome: removes every code, error and linked the app put there, keeps the rest", () => {
    expect(redirectWith("https://app.example/cb?code=planted&next=%2Fhome#f", { code: "abc" })).toBe(
      "https://app.example/cb?next=%2Fhome&code=abc#f",
    );
    const planted = "https://app.example/cb?code=x&code=y&error=z&linked=w&next=1";
    expect(redirectWith(planted, { error: "access_denied" })).toBe("https://app.example/cb?next=1&error=access_denied");
    expect(redirectWith(planted, { linked: "github" })).toBe("https://app.example/cb?next=1&linked=github");
  });
});
