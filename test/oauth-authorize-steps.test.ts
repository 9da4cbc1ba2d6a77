import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { beforeEach, describe, expect, it } from "vitest";
import { mintLoginCode } from "../src/identity/exchange";
import { readConfig } from "../src/platform/config";
import { allowedRedirect } from "../src/platform/redirects";
import { auditRowsOf, call, fromFreshAddress, insertPasskeyRow, postJson, registered, send } from "./helpers";
import {
  authorizePath,
  hiddenFields,
  ISSUER,
  insertClient,
  Jar,
  oauthSettings,
  oauthUser,
  redirectParams,
  signInThrough,
  submit,
} from "./oauth-support";
import { type Options, SoftwareAuthenticator } from "./support/authenticator.mjs";
import { at, atStepMiddle, codeAt, mfaToken, withTotp } from "./totp";

// The login page's second step (TOTP, recovery code, the passkey button) and its social
// sign-in buttons, with the return from a social sign-in traded server-side.

beforeEach(() => fromFreshAddress());

async function amrOfCode(res: Response): Promise<string[]> {
  expect(res.status).toBe(302);
  const params = redirectParams(res);
  expect(params.get("iss")).toBe(ISSUER);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(params.get("code") ?? ""));
  const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const row = await env.DB.prepare("select data from single_use_tokens where token_hash = ?")
    .bind(hash)
    .first<{ data: string }>();
  return (JSON.parse(row?.data ?? "{}") as { amr: string[] }).amr;
}

describe("the second factor", () => {
  atStepMiddle();

  it("asks for a TOTP code after the password, refuses a wrong one, and signs in with pwd otp mfa", async () => {
    const user = await withTotp();
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    const res = await signInThrough(jar, authorizePath(client), user.input);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('name="code"');
    expect(page).not.toContain("Use a passkey");
    expect(jar.cookies.has("__Secure-oauth_session")).toBe(false);
    const fields = hiddenFields(page, "code");
    expect(fields.mfa_token).toBeTruthy();

    const wrong = await submit(jar, { ...fields, code: "000000" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("That code did not work");
    const types = (await auditRowsOf(await idOf(user.input.email))).map((e) => e.type);
    expect(types).toContain("mfa_failed");

    const right = await submit(jar, { ...fields, code: codeAt(user.secret, at(0)) });
    expect(await amrOfCode(right)).toEqual(["pwd", "otp", "mfa"]);
    expect(jar.cookies.has("__Secure-oauth_session")).toBe(true);
  });

  it("takes a recovery code in the same field", async () => {
    const user = await withTotp();
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    const page = await (await signInThrough(jar, authorizePath(client), user.input)).text();
    const res = await submit(jar, { ...hiddenFields(page, "code"), code: user.recoveryCodes[0] ?? "" });
    expect(await amrOfCode(res)).toEqual(["pwd", "otp", "mfa"]);
  });

  it("does not finish with an mfa_token of POST /login", async () => {
    const user = await withTotp();
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    const page = await (await signInThrough(jar, authorizePath(client), user.input)).text();
    const apiToken = await mfaToken(user.input, await oauthSettings());
    const res = await submit(jar, {
      ...hiddenFields(page, "code"),
      mfa_token: apiToken,
      code: codeAt(user.secret, at(0)),
    });
    expect(res.status).toBe(401);
    expect(jar.cookies.has("__Secure-oauth_session")).toBe(false);
  });

  it("offers a passkey button, run by a nonce'd script, to an account with a passkey", async () => {
    const user = await withTotp();
    await insertPasskeyRow(await idOf(user.input.email));
    const client = await insertClient({ firstParty: true });
    const res = await signInThrough(new Jar(), authorizePath(client), user.input);
    const page = await res.text();
    expect(page).toContain("Use a passkey");
    const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers.get("content-security-policy") ?? "")?.[1];
    expect(page).toContain(`<script nonce="${nonce}">`);
    expect(page).not.toMatch(/\son[a-z]+="/);
  });
});

describe("the passkey as second factor", () => {
  it("finishes with an assertion over the challenge of POST /login/mfa/webauthn/options (pwd hwk mfa)", async () => {
    const user = await registered();
    const authenticator = await SoftwareAuthenticator.create(false);
    const options = await (await send("POST", "/me/passkeys/options", user.token)).json();
    const response = await authenticator.register(options as Options);
    expect((await send("POST", "/me/passkeys", user.token, { response, name: "Laptop" })).status).toBe(201);

    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    const page = await (await signInThrough(jar, authorizePath(client), user.input)).text();
    expect(page).toContain("Use a passkey");
    const fields = hiddenFields(page, "webauthn");
    const res = await postJson(
      "/login/mfa/webauthn/options",
      { mfa_token: fields.mfa_token },
      {},
      await oauthSettings(),
    );
    const challenge = ((await res.json()) as { options: Options }).options;
    const webauthn = JSON.stringify(await authenticator.assert(challenge, { uv: false }));
    expect(await amrOfCode(await submit(jar, { ...fields, webauthn }))).toEqual(["pwd", "hwk", "mfa"]);
  });

  it("shows the page again for an assertion that is not one", async () => {
    const user = await registered();
    await insertPasskeyRow(user.body.id);
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    const page = await (await signInThrough(jar, authorizePath(client), user.input)).text();
    const res = await submit(jar, { ...hiddenFields(page, "webauthn"), webauthn: "not json" });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("Use a passkey");
  });
});

async function idOf(email: string): Promise<string> {
  const row = await env.DB.prepare("select id from users where email = ?").bind(email).first<{ id: string }>();
  return row?.id ?? "";
}

describe("social sign-in on the login page", () => {
  const social = {
    SOCIAL_PROVIDERS: "acme",
    SOCIAL_ACME_ISSUER: "https://idp.example.com",
    SOCIAL_ACME_CLIENT_ID: "client-1",
    SOCIAL_ACME_NAME: "Acme ID",
  };

  it("shows a button per provider whose trip comes back to the API's own origin, and trades the code here", async () => {
    const settings = { ...(await oauthSettings()), ...social } as unknown as Partial<Cloudflare.Env>;
    const user = (await oauthUser()).id;
    const client = await insertClient({ firstParty: true });
    const jar = new Jar();
    const page = jar.take(await call(authorizePath(client), {}, settings));
    const html = await page.text();
    const href = /href="(\/login\/social\/acme\?[^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, "&") ?? "";
    expect(html).toContain("Continue with Acme ID");
    const redirectTo = new URL(href, ISSUER).searchParams.get("redirect_to") ?? "";
    expect(redirectTo.startsWith(`${ISSUER}/oauth/authorize/social?csrf_token=`)).toBe(true);
    // The trip's start accepts that redirect_to: the API's own origin is trusted.
    const config = readConfig({ ...env, ...settings } as unknown as Record<string, string>);
    expect(allowedRedirect(config, redirectTo).href).toBe(redirectTo);

    const { value, insert } = await mintLoginCode({ db: drizzle(env.DB), now: new Date() }, user, ["fed"]);
    await insert;
    const back = new URL(redirectTo);
    back.searchParams.set("code", value);
    const res = jar.take(await call(`${back.pathname}${back.search}`, { headers: jar.header() }, settings));
    expect(await amrOfCode(res)).toEqual(["fed"]);
    expect(jar.cookies.has("__Secure-oauth_session")).toBe(true);
    // The request finished: its return works once.
    const replay = await call(`${back.pathname}${back.search}`, { headers: jar.header() }, settings);
    expect(replay.status).toBe(403);
  });

  it("refuses the return in another browser, and shows the login page for an error", async () => {
    const settings = { ...(await oauthSettings()), ...social } as unknown as Partial<Cloudflare.Env>;
    const client = await insertClient();
    const jar = new Jar();
    const html = await jar.take(await call(authorizePath(client), {}, settings)).text();
    const csrf = hiddenFields(html).csrf_token ?? "";
    const stranger = await call(`/oauth/authorize/social?csrf_token=${csrf}&code=x`, {}, settings);
    expect(stranger.status).toBe(403);
    const failed = await call(
      `/oauth/authorize/social?csrf_token=${csrf}&error=access_denied`,
      { headers: jar.header() },
      settings,
    );
    expect(failed.status).toBe(401);
    expect(await failed.text()).toContain('name="password"');
  });
});
