import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  auditRowsOf,
  bearer,
  call,
  claimsOf,
  errorOf,
  type Json,
  postJson,
  promote,
  registered,
  roundTripsOf,
  SIGNED_IN_FIELDS,
  send,
} from "./helpers";
import { type Options, SoftwareAuthenticator } from "./support/authenticator.mjs";

// WebAuthn ceremonies against the real API, with the software authenticator of
// test/authenticator.ts. vitest.config.ts pins WEBAUTHN_RP_ID=localhost and
// WEBAUTHN_ORIGINS=http://localhost:5173.

type User = Awaited<ReturnType<typeof registered>>;

async function registrationOptions(user: User) {
  const res = await send("POST", "/me/passkeys/options", user.token);
  expect(res.status).toBe(200);
  return (await res.json()) as Options & Json & { excludeCredentials: { id: string }[] };
}

/** A fresh user with one passkey on a new software authenticator. */
async function withPasskey(synced = false) {
  const user = await registered();
  const authenticator = await SoftwareAuthenticator.create(synced);
  const response = await authenticator.register(await registrationOptions(user));
  const res = await send("POST", "/me/passkeys", user.token, { response, name: "Laptop" });
  expect(res.status).toBe(201);
  return { ...user, authenticator, passkey: (await res.json()) as Json & { id: string } };
}

async function passwordlessOptions() {
  const res = await postJson("/login/passkey/options", {});
  expect(res.status).toBe(200);
  return (await res.json()) as { options: Options & Json; challenge_id: string };
}

async function expectRefused(res: Response) {
  expect(res.status).toBe(400);
  expect((await errorOf(res)).code).toBe("invalid_credentials");
}

async function counterOf(passkeyId: string) {
  return (
    await env.DB.prepare("select counter from passkeys where id = ?").bind(passkeyId).first<{ counter: number }>()
  )?.counter;
}

describe("passkey registration", () => {
  it("offers options for this RP, resident key and UV preferred, excluding the user's passkeys", async () => {
    const { token, authenticator, passkey, ...user } = await withPasskey();
    const options = await registrationOptions({ ...user, token } as User);
    expect(options.rp).toEqual({ name: "edge-auth-api", id: "localhost" });
    expect(options.authenticatorSelection).toMatchObject({ residentKey: "preferred", userVerification: "preferred" });
    expect(options.attestation).toBe("none");
    expect(options.excludeCredentials.map((credential) => credential.id)).toEqual([authenticator.id]);
    expect(passkey).toMatchObject({ name: "Laptop", device_type: "singleDevice", backed_up: false });
    expect(passkey).not.toHaveProperty("public_key");
  });

  it("lists, renames and deletes passkeys; /me counts them", async () => {
    const user = await withPasskey();
    const list = (await (await send("GET", "/me/passkeys", user.token)).json()) as { passkeys: Json[] };
    expect(list.passkeys).toEqual([user.passkey]);
    const me = (await (await send("GET", "/me", user.token)).json()) as { mfa: Json };
    expect(me.mfa).toEqual({ totp: false, passkeys: 1, recovery_codes: 0 });
    const renamed = await send("PATCH", `/me/passkeys/${user.passkey.id}`, user.token, { name: "  Phone " });
    expect(renamed.status).toBe(200);
    expect(((await renamed.json()) as Json).name).toBe("Phone");
    const noProof = await send("DELETE", `/me/passkeys/${user.passkey.id}`, user.token, {});
    expect(noProof.status).toBe(400);
    const wrong = await send("DELETE", `/me/passkeys/${user.passkey.id}`, user.token, { password: "wrong one" });
    await expectRefused(wrong);
    const other = await registered();
    const notTheirs = await send("DELETE", `/me/passkeys/${user.passkey.id}`, other.token, {
      password: other.input.password,
    });
    expect(notTheirs.status).toBe(404);
    const renameNotTheirs = await send("PATCH", `/me/passkeys/${user.passkey.id}`, other.token, { name: "Mine" });
    expect(renameNotTheirs.status).toBe(404);
    expect((await errorOf(renameNotTheirs)).code).toBe("not_found");
    const deleted = await send("DELETE", `/me/passkeys/${user.passkey.id}`, user.token, {
      password: user.input.password,
    });
    expect(deleted.status).toBe(204);
    expect(((await (await send("GET", "/me/passkeys", user.token)).json()) as { passkeys: Json[] }).passkeys).toEqual(
      [],
    );
  });

  it("refuses a wrong origin, a wrong RP ID, a challenge it did not issue, and a used challenge", async () => {
    const user = await registered();
    const authenticator = await SoftwareAuthenticator.create();
    for (const ceremony of [
      { origin: "https://evil.example" },
      { rpId: "evil.example" },
      { challenge: "A".repeat(43) },
    ]) {
      const response = await authenticator.register(await registrationOptions(user), ceremony);
      await expectRefused(await send("POST", "/me/passkeys", user.token, { response }));
    }
    const options = await registrationOptions(user);
    const response = await authenticator.register(options);
    expect((await send("POST", "/me/passkeys", user.token, { response })).status).toBe(201);
    await expectRefused(await send("POST", "/me/passkeys", user.token, { response }));
  });

  it("refuses another user's challenge and a malformed response without a 500", async () => {
    const user = await registered();
    const other = await registered();
    const authenticator = await SoftwareAuthenticator.create();
    const response = await authenticator.register(await registrationOptions(other));
    await expectRefused(await send("POST", "/me/passkeys", user.token, { response }));
    for (const bad of [{}, { response: { clientDataJSON: "!!" } }, { id: "x", response: { clientDataJSON: 7 } }]) {
      await expectRefused(await send("POST", "/me/passkeys", user.token, { response: bad }));
    }
    const missing = await send("POST", "/me/passkeys", user.token, {});
    expect(missing.status).toBe(400);
    expect((await errorOf(missing)).code).toBe("invalid_input");
  });
});

describe("passwordless login", () => {
  it("offers discoverable-credential options and signs in with a UV passkey alone", async () => {
    const user = await withPasskey();
    const { options, challenge_id } = await passwordlessOptions();
    expect(options.allowCredentials).toEqual([]);
    expect(options.userVerification).toBe("required");
    expect(options.rpId).toBe("localhost");
    const response = await user.authenticator.assert(options);
    const res = await postJson("/login/passkey", { challenge_id, response });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json & { token: string };
    expect(Object.keys(body).sort()).toEqual([...SIGNED_IN_FIELDS].sort());
    expect(body.id).toBe(user.body.id);
    expect(claimsOf(body.token).amr).toEqual(["hwk", "user", "mfa"]);
    expect(await counterOf(user.passkey.id)).toBe(user.authenticator.counter);
    expect((await send("GET", "/me", body.token)).status).toBe(200);
  });

  it("delivers the refresh token in the HttpOnly cookie when asked", async () => {
    const user = await withPasskey();
    const { options, challenge_id } = await passwordlessOptions();
    const response = await user.authenticator.assert(options);
    const res = await postJson("/login/passkey", { challenge_id, response, refresh_transport: "cookie" });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()[0]).toMatch(/^__Secure-refresh_token=[\w-]+; .*HttpOnly/);
    expect(((await res.json()) as Json).refresh_token).toBeUndefined();
  });

  it("makes three D1 round trips: challenge, key and owner batched; the counter; the session", async () => {
    const user = await withPasskey();
    const { options, challenge_id } = await passwordlessOptions();
    const response = await user.authenticator.assert(options);
    const { res, roundTrips } = await roundTripsOf((b) =>
      postJson("/login/passkey", { challenge_id, response }, {}, b),
    );
    expect(res.status).toBe(200);
    expect(roundTrips).toBe(3);
  });

  it("calls a synced passkey swk", async () => {
    const user = await withPasskey(true);
    const { options, challenge_id } = await passwordlessOptions();
    const res = await postJson("/login/passkey", { challenge_id, response: await user.authenticator.assert(options) });
    expect(res.status).toBe(200);
    expect(claimsOf(((await res.json()) as { token: string }).token).amr).toEqual(["swk", "user", "mfa"]);
  });

  it("refuses a wrong origin, a wrong RP ID, a wrong challenge and no user verification", async () => {
    const user = await withPasskey();
    for (const ceremony of [
      { origin: "http://localhost:8788" },
      { rpId: "example.com" },
      { challenge: "B".repeat(43) },
      { uv: false },
    ]) {
      const { options, challenge_id } = await passwordlessOptions();
      await expectRefused(
        await postJson("/login/passkey", {
          challenge_id,
          response: await user.authenticator.assert(options, ceremony),
        }),
      );
    }
    // A challenge_id that is not the challenge the response signed.
    const first = await passwordlessOptions();
    const second = await passwordlessOptions();
    const response = await user.authenticator.assert(first.options);
    await expectRefused(await postJson("/login/passkey", { challenge_id: second.challenge_id, response }));
  });

  it("refuses a replayed assertion", async () => {
    const user = await withPasskey();
    const { options, challenge_id } = await passwordlessOptions();
    const response = await user.authenticator.assert(options);
    expect((await postJson("/login/passkey", { challenge_id, response })).status).toBe(200);
    await expectRefused(await postJson("/login/passkey", { challenge_id, response }));
  });

  it("refuses a counter that goes backwards, and keeps the stored one", async () => {
    const user = await withPasskey();
    user.authenticator.counter = 10;
    let round = await passwordlessOptions();
    const ok = await postJson("/login/passkey", {
      challenge_id: round.challenge_id,
      response: await user.authenticator.assert(round.options),
    });
    expect(ok.status).toBe(200);
    expect(await counterOf(user.passkey.id)).toBe(11);
    user.authenticator.counter = 4;
    round = await passwordlessOptions();
    await expectRefused(
      await postJson("/login/passkey", {
        challenge_id: round.challenge_id,
        response: await user.authenticator.assert(round.options),
      }),
    );
    expect(await counterOf(user.passkey.id)).toBe(11);
  });

  it("refuses an unknown or deleted credential", async () => {
    const stranger = await SoftwareAuthenticator.create();
    let round = await passwordlessOptions();
    await expectRefused(
      await postJson("/login/passkey", {
        challenge_id: round.challenge_id,
        response: await stranger.assert(round.options),
      }),
    );
    const user = await withPasskey();
    await send("DELETE", `/me/passkeys/${user.passkey.id}`, user.token, { password: user.input.password });
    round = await passwordlessOptions();
    await expectRefused(
      await postJson("/login/passkey", {
        challenge_id: round.challenge_id,
        response: await user.authenticator.assert(round.options),
      }),
    );
  });

  it("refuses a disabled account's passkey", async () => {
    const user = await withPasskey();
    await env.DB.prepare("update users set disabled = 1 where id = ?").bind(user.body.id).run();
    const { options, challenge_id } = await passwordlessOptions();
    await expectRefused(
      await postJson("/login/passkey", { challenge_id, response: await user.authenticator.assert(options) }),
    );
  });
});

describe("passkey as a second factor", () => {
  async function mfaToken(user: { input: { email: string; password: string } }) {
    const res = await postJson("/login", { email: user.input.email, password: user.input.password });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { mfa_token: string; mfa_methods: string[] };
    expect(body.mfa_methods).toEqual(["webauthn"]);
    return body.mfa_token;
  }

  async function mfaOptions(mfa_token: string) {
    const res = await postJson("/login/mfa/webauthn/options", { mfa_token });
    expect(res.status).toBe(200);
    return ((await res.json()) as { options: Options & { allowCredentials: { id: string }[] } }).options;
  }

  it("finishes a password login with an assertion over the mfa_token's challenge", async () => {
    const user = await withPasskey();
    const token = await mfaToken(user);
    const options = await mfaOptions(token);
    expect(options.allowCredentials.map((credential) => credential.id)).toEqual([user.authenticator.id]);
    const webauthn = await user.authenticator.assert(options, { uv: false });
    const res = await postJson("/login/mfa", { mfa_token: token, webauthn });
    expect(res.status).toBe(200);
    expect(claimsOf(((await res.json()) as { token: string }).token).amr).toEqual(["pwd", "hwk", "mfa"]);
  });

  it("refuses a passwordless challenge, another login's challenge and a replay", async () => {
    const user = await withPasskey();
    const token = await mfaToken(user);
    const passwordless = await passwordlessOptions();
    await expectRefused(
      await postJson("/login/mfa", {
        mfa_token: token,
        webauthn: await user.authenticator.assert(passwordless.options),
      }),
    );
    const otherLogin = await mfaOptions(await mfaToken(user));
    await expectRefused(
      await postJson("/login/mfa", { mfa_token: token, webauthn: await user.authenticator.assert(otherLogin) }),
    );
    const webauthn = await user.authenticator.assert(await mfaOptions(token));
    expect((await postJson("/login/mfa", { mfa_token: token, webauthn })).status).toBe(200);
    const next = await mfaToken(user);
    await expectRefused(await postJson("/login/mfa", { mfa_token: next, webauthn }));
  });

  it("refuses options for an mfa_token that is not live", async () => {
    const res = await postJson("/login/mfa/webauthn/options", { mfa_token: "C".repeat(43) });
    await expectRefused(res);
  });
});

describe("audit events", () => {
  it("records passkey_added and passkey_removed naming the passkey (its id here) as `credential`; refused registrations and deletions write nothing", async () => {
    const user = await withPasskey();
    // The same credential again (fresh challenge): refused by the database, no event.
    const again = await user.authenticator.register(await registrationOptions(user));
    await expectRefused(await send("POST", "/me/passkeys", user.token, { response: again }));
    const path = `/me/passkeys/${user.passkey.id}`;
    await expectRefused(await send("DELETE", path, user.token, { password: "wrong one" }));
    const other = await registered();
    expect((await send("DELETE", path, other.token, { password: other.input.password })).status).toBe(404);
    expect((await send("DELETE", path, user.token, { password: user.input.password })).status).toBe(204);
    expect((await send("DELETE", path, user.token, { password: user.input.password })).status).toBe(404);

    const rows = (await auditRowsOf(user.body.id)).filter((row) => String(row.type).startsWith("passkey_"));
    const byUser = {
      actor_type: "user",
      actor_id: user.body.id,
      details: JSON.stringify({ credential: user.passkey.id }),
    };
    expect(rows).toEqual([
      expect.objectContaining({ type: "passkey_added", ...byUser }),
      expect.objectContaining({ type: "passkey_removed", ...byUser }),
    ]);
    expect((await auditRowsOf(other.body.id)).map((row) => row.type)).toEqual(["user_registered"]);
    // Admins see it in GET /admin/audit.
    const admin = await registered();
    await promote(admin.body.id);
    const res = await call(`/admin/audit?user_id=${user.body.id}&type=passkey_removed`, {
      headers: bearer(admin.token),
    });
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: Json[] };
    expect(events.map((event) => event.details)).toEqual([{ credential: user.passkey.id }]);
    const stored = JSON.stringify(rows);
    for (const value of [user.authenticator.id, user.input.password, JSON.stringify(again.response)]) {
      expect(stored).not.toContain(value);
    }
  });
});
