/// <reference types="vite/client" />
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { mintLoginCode } from "../src/identity/exchange";
import { claimsOf, type Json, postJson, registered, send } from "./helpers";
import { type Options, SoftwareAuthenticator } from "./support/authenticator.mjs";
import { at, atStepMiddle, codeAt, mfaToken, withTotp } from "./totp";

// Every way of signing in ends in the identity core's one session start
// (src/identity/sessions.ts): proved by what each path leaves behind (its session row
// with its amr, and login_succeeded with the same amr), and by the source itself (only
// src/identity/ writes session rows, mints refresh tokens or signs access tokens).

atStepMiddle();

type Signed = { token: string };

/** The session row and the login_succeeded event of the session `token` belongs to. */
async function traces(token: string) {
  const { sid, sub } = claimsOf(token) as { sid: string; sub: string };
  const session = await env.DB.prepare("select amr from sessions where id = ?").bind(sid).first<{ amr: string }>();
  const { results } = await env.DB.prepare(
    "select details from audit_events where user_id = ? and type = 'login_succeeded' order by time, rowid",
  )
    .bind(sub)
    .all<{ details: string }>();
  return { session, logins: results.map((row) => JSON.parse(row.details) as Json) };
}

/** Asserts the session of `res`'s token has `amr`, in its row, its token and the last login_succeeded. */
async function expectStarted(res: Response, amr: string[]) {
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as Signed;
  expect(claimsOf(token).amr).toEqual(amr);
  const { session, logins } = await traces(token);
  expect(session?.amr).toBe(amr.join(" "));
  expect(logins.at(-1)).toEqual({ amr: amr.join(" ") });
}

async function withPasskey() {
  const user = await registered();
  const authenticator = await SoftwareAuthenticator.create(false);
  const options = (await (await send("POST", "/me/passkeys/options", user.token)).json()) as Options;
  const response = await authenticator.register(options);
  expect((await send("POST", "/me/passkeys", user.token, { response })).status).toBe(201);
  return { ...user, authenticator };
}

describe("every login path starts its session through the identity core", () => {
  it("register: the session row with amr pwd, and user_registered instead of login_succeeded", async () => {
    const user = await registered();
    const { session, logins } = await traces(user.token);
    expect(session?.amr).toBe("pwd");
    expect(claimsOf(user.token).amr).toEqual(["pwd"]);
    expect(logins).toEqual([]);
  });

  it("POST /login: login_succeeded with amr pwd", async () => {
    const { input } = await registered();
    await expectStarted(await postJson("/login", { email: input.email, password: input.password }), ["pwd"]);
  });

  it("POST /login/mfa with a TOTP code or a recovery code: pwd, otp, mfa", async () => {
    const user = await withTotp();
    const code = codeAt(user.secret, at(0));
    await expectStarted(await postJson("/login/mfa", { mfa_token: await mfaToken(user.input), code }), [
      "pwd",
      "otp",
      "mfa",
    ]);
    const recovery_code = user.recoveryCodes[0];
    await expectStarted(await postJson("/login/mfa", { mfa_token: await mfaToken(user.input), recovery_code }), [
      "pwd",
      "otp",
      "mfa",
    ]);
  });

  it("POST /login/mfa with a passkey: pwd, hwk, mfa", async () => {
    const user = await withPasskey();
    const mfa_token = await mfaToken(user.input);
    const options = (await (await postJson("/login/mfa/webauthn/options", { mfa_token })).json()) as {
      options: Options;
    };
    const webauthn = await user.authenticator.assert(options.options, { uv: false });
    await expectStarted(await postJson("/login/mfa", { mfa_token, webauthn }), ["pwd", "hwk", "mfa"]);
  });

  it("POST /login/passkey: hwk, user, mfa", async () => {
    const user = await withPasskey();
    const { options, challenge_id } = (await (await postJson("/login/passkey/options", {})).json()) as {
      options: Options;
      challenge_id: string;
    };
    const response = await user.authenticator.assert(options);
    await expectStarted(await postJson("/login/passkey", { challenge_id, response }), ["hwk", "user", "mfa"]);
  });

  it("POST /login/exchange (where social sign-in and email links end): the amr the flow minted its code with", async () => {
    for (const amr of [["fed"], ["otp"]]) {
      const { body } = await registered();
      const { value, insert } = await mintLoginCode({ db: drizzle(env.DB), now: new Date() }, String(body.id), amr);
      await insert;
      await expectStarted(await postJson("/login/exchange", { code: value }), amr);
    }
  });
});

/** Every source file of the worker, by path under src/. */
const sources = Object.fromEntries(
  Object.entries(import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true })).map(
    ([path, text]) => [path.replace("../src/", ""), text as string],
  ),
);

describe("the identity core alone owns sessions and tokens", () => {
  // What only src/identity/ may do: write a session row, mint a refresh token, sign a token.
  const OWNED = [
    /\.insert\(sessions\)/,
    /\binsertSession\(/,
    /\binsertFirstToken\(/,
    /\brotate\(db/,
    /\bnewRefresh\(/,
    /\bissueAccessToken\(/,
    /\bsignJwt\(/,
    /\btokenPair\(/,
    /hono\/utils\/jwt/,
  ];

  it("reads the sources", () => {
    expect(Object.keys(sources)).toContain("identity/sessions.ts");
    expect(Object.keys(sources).length).toBeGreaterThan(40);
  });

  for (const pattern of OWNED) {
    it(`nothing outside src/identity/ matches ${pattern}`, () => {
      const outside = Object.entries(sources)
        .filter(([path, text]) => !path.startsWith("identity/") && pattern.test(text))
        .map(([path]) => path);
      expect(outside).toEqual([]);
    });
  }
});
