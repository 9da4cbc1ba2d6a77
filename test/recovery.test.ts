import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { type AccountEvent, RETIRED_BY } from "../src/identity/retirement";
import { SINGLE_USE_PURPOSES } from "../src/platform/schema";
import { auditRowsOf, bearer, claimsOf, insertPasskeyRow, promote, registered, uniqueEmail } from "./helpers";
import { errorCode, login, me, newestLink, post, register, request, withMail } from "./mail";
import { type Options, SoftwareAuthenticator } from "./support/authenticator.mjs";
import { atStepMiddle, mfaToken, START, withTotp } from "./totp";

// Recovery that really recovers: what a password reset, a password change and the first
// proof of an address take away from whoever held the account before, played as the
// attacks the issue reported, over real D1 and real SMTP (maildev).

// Tests run at a faked time in the middle of a 30-second step (test/totp.ts).
atStepMiddle();

type Account = {
  input: { email: string; password: string };
  token: string;
  body: { id: string; refresh_token?: unknown };
};

/** A signed-in JSON request with mail on. */
function as(account: { token: string }, method: string, path: string, body?: unknown) {
  return request(path, {
    method,
    headers: { ...bearer(account.token), "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The owner recovers the account: forgot, the newest reset link, a new password. */
async function resetPassword(email: string, newPassword = "the owner's new passphrase", count = 1) {
  expect((await post("/password/forgot", { email })).status).toBe(202);
  const token = await newestLink(email, "/password/reset", count);
  const res = await post("/password/reset", { token, newPassword });
  expect(res.status).toBe(204);
  return newPassword;
}

/** The attacker, holding the session (and the password), asks to move the account to an
 * address of theirs: the confirmation link that went there. */
async function pendingEmailChange(account: Account) {
  const attacker = uniqueEmail("attacker");
  const asked = await as(account, "POST", "/me/email", { newEmail: attacker, password: account.input.password });
  expect(asked.status).toBe(202);
  return newestLink(attacker, "/email/change/confirm");
}

async function markVerified(userId: string) {
  await env.DB.prepare("update users set email_verified_at = ? where id = ?").bind(Date.now(), userId).run();
}

async function emailOf(userId: string) {
  return (await env.DB.prepare("select email from users where id = ?").bind(userId).first<{ email: string }>())?.email;
}

async function factorRows(userId: string) {
  const count = async (table: string) =>
    (await env.DB.prepare(`select count(*) as n from ${table} where user_id = ?`).bind(userId).first<{ n: number }>())
      ?.n;
  return { passkeys: await count("passkeys"), totp: await count("totp_factors"), codes: await count("recovery_codes") };
}

describe("a password reset or change ends an attacker's pending email change", () => {
  it("after a reset, the change link an attacker asked for earlier answers invalid_link", async () => {
    const victim = await register();
    const change = await pendingEmailChange(victim);
    await resetPassword(victim.input.email);
    const confirm = await post("/email/change/confirm", { token: change });
    expect(await errorCode(confirm)).toBe("invalid_link");
    expect(await emailOf(victim.body.id)).toBe(victim.input.email);
  });

  it("after a password change, likewise", async () => {
    const victim = await register();
    const change = await pendingEmailChange(victim);
    const changed = await as(victim, "POST", "/me/password", {
      currentPassword: victim.input.password,
      newPassword: "the owner's new passphrase",
    });
    expect(changed.status).toBe(200);
    expect(await errorCode(await post("/email/change/confirm", { token: change }))).toBe("invalid_link");
    expect(await emailOf(victim.body.id)).toBe(victim.input.email);
  });

  it("after logging every session out, or revoking the session that asked, likewise", async () => {
    const victim = await register();
    const change = await pendingEmailChange(victim);
    expect((await as(victim, "POST", "/logout/all")).status).toBe(204);
    expect(await errorCode(await post("/email/change/confirm", { token: change }))).toBe("invalid_link");

    // Past MAIL_COOLDOWN, so the second request mails a link too.
    vi.setSystemTime(START + 61_000);
    const owner = (await (await login(victim.input.email, victim.input.password)).json()) as { token: string };
    const thief = (await (await login(victim.input.email, victim.input.password)).json()) as { token: string };
    const stolen = await pendingEmailChange({ ...victim, token: thief.token });
    const sid = claimsOf(thief.token).sid as string;
    expect((await as(owner, "DELETE", `/sessions/${sid}`)).status).toBe(204);
    expect(await errorCode(await post("/email/change/confirm", { token: stolen }))).toBe("invalid_link");
  });

  it("a plain logout keeps it: the owner may confirm from another device", async () => {
    const owner = await register();
    const change = await pendingEmailChange(owner);
    expect((await as(owner, "POST", "/logout")).status).toBe(204);
    expect((await post("/email/change/confirm", { token: change })).status).toBe(200);
  });
});

describe("a reset or password change ends logins waiting for their second factor", () => {
  for (const event of ["reset", "password change"] as const) {
    it(`an mfa_token from before a ${event} is refused even with a right recovery code`, async () => {
      const user = await withTotp();
      await markVerified(user.body.id);
      const stale = await mfaToken(user.input);
      let password = user.input.password;
      if (event === "reset") password = await resetPassword(user.input.email);
      else {
        password = "the owner's new passphrase";
        const changed = await as(user, "POST", "/me/password", {
          currentPassword: user.input.password,
          newPassword: password,
        });
        expect(changed.status).toBe(200);
      }
      const [first, second] = user.recoveryCodes;
      const refused = await post("/login/mfa", { mfa_token: stale, recovery_code: first });
      expect(await errorCode(refused)).toBe("invalid_credentials");
      // The factors themselves are intact: a login begun now finishes.
      const fresh = await mfaToken({ email: user.input.email, password });
      expect((await post("/login/mfa", { mfa_token: fresh, recovery_code: second })).status).toBe(200);
    });
  }
});

describe("a disabled account's email-change link", () => {
  it("answers invalid_link and changes nothing, disabled by an admin or straight in D1", async () => {
    const admin = await registered();
    await promote(admin.body.id);
    for (const how of ["admin", "d1"] as const) {
      const user = await register();
      const change = await pendingEmailChange(user);
      if (how === "admin") {
        const res = await as(admin, "PATCH", `/admin/users/${user.body.id}`, { disabled: true });
        expect(res.status).toBe(200);
      } else {
        await env.DB.prepare("update users set disabled = 1 where id = ?").bind(user.body.id).run();
      }
      expect(await errorCode(await post("/email/change/confirm", { token: change })), how).toBe("invalid_link");
      expect(await emailOf(user.body.id)).toBe(user.input.email);
      const events = (await auditRowsOf(user.body.id)).map((row) => row.type);
      expect(events).not.toContain("email_changed");
    }
  });
});

describe("the first proof of an address removes the second factors enrolled before it", () => {
  /** A squatter's account: someone else's address, never verified, a passkey and TOTP. */
  async function squatted() {
    const squatter = await withTotp();
    const authenticator = await SoftwareAuthenticator.create();
    const options = (await (await as(squatter, "POST", "/me/passkeys/options")).json()) as Options;
    const added = await as(squatter, "POST", "/me/passkeys", { response: await authenticator.register(options) });
    expect(added.status).toBe(201);
    expect(await factorRows(squatter.body.id)).toEqual({ passkeys: 1, totp: 1, codes: 10 });
    return { ...squatter, authenticator };
  }

  async function expectSquatterGone(squatter: Awaited<ReturnType<typeof squatted>>) {
    expect(await factorRows(squatter.body.id)).toEqual({ passkeys: 0, totp: 0, codes: 0 });
    expect((await me(squatter.token)).status).toBe(401);
    // The squatter's passkey signs nobody in any more.
    const start = (await (await post("/login/passkey/options", {})).json()) as {
      options: Options;
      challenge_id: string;
    };
    const response = await squatter.authenticator.assert(start.options);
    const passkey = await post("/login/passkey", { challenge_id: start.challenge_id, response });
    expect(await errorCode(passkey)).toBe("invalid_credentials");
    const removed = (await auditRowsOf(squatter.body.id)).filter((row) => row.type === "second_factors_removed");
    expect(removed).toEqual([
      expect.objectContaining({ actor_type: "system", details: '{"reason":"unverified_address_recovered"}' }),
    ]);
  }

  it("by a password reset: the owner signs in with the new password alone", async () => {
    const squatter = await squatted();
    const password = await resetPassword(squatter.input.email);
    await expectSquatterGone(squatter);
    const owner = await login(squatter.input.email, password);
    expect(owner.status).toBe(200);
    expect(claimsOf(((await owner.json()) as { token: string }).token).amr).toEqual(["pwd"]);
  });

  it("by a verification link, with the sessions and the passkey registrations in flight", async () => {
    const squatter = await squatted();
    const resent = await as(squatter, "POST", "/email/verify/resend");
    expect(resent.status).toBe(202);
    const verify = await newestLink(squatter.input.email, "/email/verify");
    const pending = (await (await as(squatter, "POST", "/me/passkeys/options")).json()) as Options;
    expect((await post("/email/verify", { token: verify })).status).toBe(200);
    await expectSquatterGone(squatter);
    const late = await (await SoftwareAuthenticator.create()).register(pending);
    const { token } = (await (await login(squatter.input.email, squatter.input.password)).json()) as { token: string };
    expect(await errorCode(await as({ token }, "POST", "/me/passkeys", { response: late }))).toBe(
      "invalid_credentials",
    );
  });

  it("not when the address was proved before: a verified account's reset keeps its factors", async () => {
    const user = await withTotp();
    await markVerified(user.body.id);
    const password = await resetPassword(user.input.email);
    expect(await factorRows(user.body.id)).toEqual({ passkeys: 0, totp: 1, codes: 10 });
    expect(await errorCode(await login(user.input.email, password))).toBe("mfa_required");
    const types = (await auditRowsOf(user.body.id)).map((row) => row.type);
    expect(types).not.toContain("second_factors_removed");
  });

  it("an account without factors loses nothing else to its first verification: its sessions stay", async () => {
    const user = await register();
    const verify = await newestLink(user.input.email, "/email/verify");
    expect((await post("/email/verify", { token: verify })).status).toBe(200);
    expect((await me(user.token)).status).toBe(200);
    expect((await auditRowsOf(user.body.id)).map((row) => row.type)).not.toContain("second_factors_removed");
  });
});

describe("each account event retires the single-use rows RETIRED_BY names", () => {
  /** One live row of every purpose for `userId`; change_email's as asked by session `sid`. */
  async function seed(userId: string, email: string, sid: string) {
    const ids: Record<string, string> = {};
    // Every purpose there is, so a new one is checked against the table as soon as it exists.
    for (const purpose of SINGLE_USE_PURPOSES) {
      ids[purpose] = crypto.randomUUID();
      await env.DB.prepare(
        `insert into single_use_tokens (id, token_hash, purpose, user_id, target, data, created_at, expires_at)
         values (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
        .bind(
          ids[purpose],
          crypto.randomUUID(),
          purpose,
          userId,
          purpose === "change_email" ? uniqueEmail("new") : email,
          purpose === "change_email" ? JSON.stringify({ sid }) : null,
          Date.now(),
          Date.now() + 3600_000,
        )
        .run();
    }
    return ids;
  }

  /** The purposes of the seeded rows that are used up now (or gone with the user). */
  async function retired(ids: Record<string, string>) {
    const gone: string[] = [];
    for (const [purpose, id] of Object.entries(ids)) {
      const row = await env.DB.prepare("select used_at from single_use_tokens where id = ?")
        .bind(id)
        .first<{ used_at: number | null }>();
      if (!row || row.used_at !== null) gone.push(purpose);
    }
    return gone.sort();
  }

  const sidOf = (account: { token: string }) => claimsOf(account.token).sid as string;
  const expected = (...events: AccountEvent[]) => [...new Set(events.flatMap((event) => RETIRED_BY[event]))].sort();

  async function anAdmin() {
    const admin = await registered();
    await promote(admin.body.id);
    return admin;
  }

  /** What makes the event for a fresh `user`, set up first (a link asked for, a second
   * session); `sid` when the seeded email change should be another session's. */
  type Act = { act: () => Promise<Response>; status: number; sid?: string };
  const cases: Record<string, { events: AccountEvent[]; prepare: (user: Account) => Promise<Act> }> = {
    "password reset": {
      events: ["password_reset"],
      prepare: async (user) => {
        await markVerified(user.body.id);
        expect((await post("/password/forgot", { email: user.input.email })).status).toBe(202);
        const token = await newestLink(user.input.email, "/password/reset");
        return { act: () => post("/password/reset", { token, newPassword: "a new passphrase 1" }), status: 204 };
      },
    },
    "password change": {
      events: ["password_changed"],
      prepare: async (user) => {
        const body = { currentPassword: user.input.password, newPassword: "a new passphrase 2" };
        return { act: () => as(user, "POST", "/me/password", body), status: 200 };
      },
    },
    "email change confirmed": {
      events: ["email_changed"],
      prepare: async (user) => {
        const token = await pendingEmailChange(user);
        return { act: () => post("/email/change/confirm", { token }), status: 200 };
      },
    },
    "email verified (no factors)": {
      events: [],
      prepare: async (user) => {
        const token = await newestLink(user.input.email, "/email/verify");
        return { act: () => post("/email/verify", { token }), status: 200 };
      },
    },
    "email verified, first proof with a factor": {
      events: ["second_factors_removed"],
      prepare: async (user) => {
        await insertPasskeyRow(user.body.id);
        const token = await newestLink(user.input.email, "/email/verify");
        return { act: () => post("/email/verify", { token }), status: 200 };
      },
    },
    "every session logged out": {
      events: ["logout_all"],
      prepare: async (user) => ({ act: () => as(user, "POST", "/logout/all"), status: 204 }),
    },
    "one session revoked": {
      events: ["session_revoked"],
      prepare: async (user) => {
        const other = (await (await login(user.input.email, user.input.password)).json()) as { token: string };
        const sid = sidOf(other);
        return { act: () => as(user, "DELETE", `/sessions/${sid}`), status: 204, sid };
      },
    },
    "a refresh token caught reused": {
      events: ["refresh_token_reused"],
      prepare: async (user) => {
        const bindings = { ...withMail, REFRESH_REUSE_INTERVAL: "0" };
        const refresh = () => post("/token/refresh", { refresh_token: user.body.refresh_token }, { bindings });
        // The first refresh rotates the token; presented again, it is theft.
        const act = async () => {
          expect((await refresh()).status).toBe(200);
          return refresh();
        };
        return { act, status: 401 };
      },
    },
    "second factors reset by an admin": {
      events: ["mfa_reset_by_admin"],
      prepare: async (user) => {
        const admin = await anAdmin();
        return { act: () => as(admin, "DELETE", `/admin/users/${user.body.id}/mfa`), status: 204 };
      },
    },
    "account disabled": {
      events: ["account_disabled"],
      prepare: async (user) => {
        const admin = await anAdmin();
        return { act: () => as(admin, "PATCH", `/admin/users/${user.body.id}`, { disabled: true }), status: 200 };
      },
    },
    "account deleted (the rows cascade)": {
      events: ["account_deleted"],
      prepare: async (user) => ({
        act: () => as(user, "DELETE", "/me", { password: user.input.password }),
        status: 204,
      }),
    },
  };

  for (const [name, { events, prepare }] of Object.entries(cases)) {
    it(`${name}: ${expected(...events).join(", ") || "nothing"}`, async () => {
      const user = await register();
      const { act, status, sid } = await prepare(user);
      const ids = await seed(user.body.id, user.input.email, sid ?? sidOf(user));
      expect((await act()).status).toBe(status);
      expect(await retired(ids)).toEqual(expected(...events));
    });
  }
});
