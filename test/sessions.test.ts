import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  bearer,
  call,
  claimsOf,
  errorOf,
  loggedIn,
  postJson,
  refresh,
  registered,
  TOKEN_PAIR_FIELDS,
  type TokenPair,
} from "./helpers";

async function rows(userId: string) {
  const { results } = await env.DB.prepare("select * from sessions where user_id = ? order by created_at")
    .bind(userId)
    .all();
  return results;
}

/** The controlled clock of these tests: makes the rotation of `refreshToken` look
 * `seconds` older than it is (a replaced row's last_used_at is when it was rotated). */
async function rewindRotation(refreshToken: string, seconds: number) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(refreshToken));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const { meta } = await env.DB.prepare(
    "update sessions set last_used_at = last_used_at - ? where refresh_token_hash = ? and replaced_by is not null",
  )
    .bind(seconds * 1000, hex)
    .run();
  expect(meta.changes).toBe(1);
}

async function expectInvalid(res: Response) {
  expect(res.status).toBe(401);
  expect((await errorOf(res)).code).toBe("invalid_token");
}

describe("sessions at register and login", () => {
  it("returns an opaque 256-bit refresh token and expires_in, and stores only its SHA-256", async () => {
    const { body, refreshToken } = await registered();
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.expires_in).toBe(5 * 3600);
    const [row] = await rows(body.id);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(refreshToken));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(row?.refresh_token_hash).toBe(hex);
    expect(JSON.stringify(await rows(body.id))).not.toContain(refreshToken);
  });

  it("puts sid (the session) and jti in access tokens", async () => {
    const { body, token } = await registered();
    const claims = claimsOf(token);
    const [row] = await rows(body.id);
    expect(claims.sid).toBe(row?.family_id);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claimsOf((await loggedIn(registeredInput(body))).token).sid).not.toBe(claims.sid);
  });

  it("records the user agent and only CF-Connecting-IP as the address", async () => {
    const { input, body } = await registered();
    await loggedIn(input, {
      "User-Agent": "test-agent/1.0",
      "CF-Connecting-IP": "203.0.113.7",
      "X-Forwarded-For": "198.51.100.1",
      "X-Real-IP": "198.51.100.2",
    });
    const last = (await rows(body.id)).at(-1);
    expect(last).toMatchObject({ user_agent: "test-agent/1.0", ip: "203.0.113.7" });
    await loggedIn(input, { "X-Forwarded-For": "198.51.100.1" });
    expect((await rows(body.id)).at(-1)?.ip).toBeNull();
  });

  it("creates no session when the registration loses to an existing email", async () => {
    const { input, body } = await registered();
    const again = await postJson("/register", { ...input, firstName: "Other" });
    expect(again.status).toBe(409);
    expect(await rows(body.id)).toHaveLength(1);
  });
});

describe("POST /token/refresh", () => {
  it("rotates: a new access and refresh token, the old refresh token stops working", async () => {
    const { refreshToken, token } = await registered();
    const res = await refresh(refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const pair = (await res.json()) as TokenPair;
    expect(Object.keys(pair).sort()).toEqual(TOKEN_PAIR_FIELDS);
    expect(pair.refresh_token).not.toBe(refreshToken);
    expect(claimsOf(pair.token).sid).toBe(claimsOf(token).sid);
    expect((await call("/me", { headers: bearer(pair.token) })).status).toBe(200);
    const next = await refresh(pair.refresh_token);
    expect(next.status).toBe(200);
  });

  it("treats a rotated token presented again after the reuse interval as theft: the family is revoked for everyone", async () => {
    const { refreshToken } = await registered();
    const legit = (await (await refresh(refreshToken)).json()) as TokenPair;
    await rewindRotation(refreshToken, 11);
    await expectInvalid(await refresh(refreshToken)); // the thief replays the old token
    await expectInvalid(await refresh(legit.refresh_token)); // the holder is logged out too
    await expectInvalid(await call("/me", { headers: bearer(legit.token) }));
  });

  it("refuses unknown, expired and revoked refresh tokens with 401", async () => {
    await expectInvalid(await refresh("A".repeat(43)));
    await expectInvalid(await refresh("x".repeat(500)));
    const { refreshToken, body, token } = await registered();
    await env.DB.prepare("update sessions set expires_at = ? where user_id = ?")
      .bind(Date.now() - 1000, body.id)
      .run();
    await expectInvalid(await refresh(refreshToken));
    const second = await registered();
    expect((await call("/logout", { method: "POST", headers: bearer(second.token) })).status).toBe(204);
    await expectInvalid(await refresh(second.refreshToken));
    expect(token).toBeTruthy();
  });

  it("answers 400 for a missing or non-string refresh_token", async () => {
    for (const body of [{}, { refresh_token: 42 }, { refresh_token: ["x"] }]) {
      const res = await postJson("/token/refresh", body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_input");
    }
  });

  it("honours REFRESH_TTL", async () => {
    const { input } = await registered();
    const res = await postJson("/login", { email: input.email, password: input.password }, {}, { REFRESH_TTL: "1h" });
    const { id } = (await res.json()) as { id: string };
    const last = (await rows(id)).at(-1) as { created_at: number; expires_at: number };
    expect(last.expires_at - last.created_at).toBe(3600 * 1000);
  });
});

describe("REFRESH_REUSE_INTERVAL: a refresh token presented again soon after its rotation", () => {
  async function pairOf(res: Response): Promise<TokenPair> {
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const pair = (await res.json()) as TokenPair;
    expect(Object.keys(pair).sort()).toEqual(TOKEN_PAIR_FIELDS);
    return pair;
  }

  it("answers two truly parallel refreshes with the same token 200 each, for the same session, and keeps it alive", async () => {
    const { refreshToken, token } = await registered();
    const pairs = await Promise.all([refresh(refreshToken).then(pairOf), refresh(refreshToken).then(pairOf)]);
    expect(new Set(pairs.map((pair) => pair.refresh_token)).size).toBe(2);
    for (const pair of pairs) {
      expect(claimsOf(pair.token).sid).toBe(claimsOf(token).sid);
      expect((await call("/me", { headers: bearer(pair.token) })).status).toBe(200);
      // Each answered refresh token works: once.
      await pairOf(await refresh(pair.refresh_token));
    }
  });

  it("answers a retry after a lost response (the same token 1 to 9 s later) with a working pair, revoking nothing", async () => {
    for (const seconds of [1, 5, 9]) {
      const { refreshToken } = await registered();
      const lost = await pairOf(await refresh(refreshToken));
      await rewindRotation(refreshToken, seconds);
      const retried = await pairOf(await refresh(refreshToken));
      expect(claimsOf(retried.token).sid).toBe(claimsOf(lost.token).sid);
      expect((await call("/me", { headers: bearer(retried.token) })).status).toBe(200);
      expect((await call("/me", { headers: bearer(lost.token) })).status).toBe(200);
      await pairOf(await refresh(retried.refresh_token));
      await pairOf(await refresh(lost.refresh_token));
    }
  });

  it("makes every answered refresh token single-use: each one presented after its own interval is theft", async () => {
    const { refreshToken, token } = await registered();
    await pairOf(await refresh(refreshToken));
    const again = await pairOf(await refresh(refreshToken)); // within the interval
    const next = await pairOf(await refresh(again.refresh_token)); // spends the answered token
    await rewindRotation(again.refresh_token, 11);
    await expectInvalid(await refresh(again.refresh_token));
    // Theft ends the whole session, every branch of it.
    await expectInvalid(await refresh(next.refresh_token));
    await expectInvalid(await call("/me", { headers: bearer(token) }));
  });

  it("measures the interval from the token's own rotation, not from later use of the session", async () => {
    const { refreshToken } = await registered();
    const legit = await pairOf(await refresh(refreshToken));
    await rewindRotation(refreshToken, 6);
    const child = await pairOf(await refresh(legit.refresh_token));
    await rewindRotation(refreshToken, 5);
    await expectInvalid(await refresh(refreshToken));
    await expectInvalid(await refresh(child.refresh_token));
  });

  it("honours a shorter interval, and 0 turns the allowance off", async () => {
    const short = { REFRESH_REUSE_INTERVAL: "2s" };
    const a = await registered();
    await pairOf(await postJson("/token/refresh", { refresh_token: a.refreshToken }, {}, short));
    await rewindRotation(a.refreshToken, 1);
    await pairOf(await postJson("/token/refresh", { refresh_token: a.refreshToken }, {}, short));
    await rewindRotation(a.refreshToken, 2);
    await expectInvalid(await postJson("/token/refresh", { refresh_token: a.refreshToken }, {}, short));

    const off = { REFRESH_REUSE_INTERVAL: "0" };
    const b = await registered();
    const responses = await Promise.all([
      postJson("/token/refresh", { refresh_token: b.refreshToken }, {}, off),
      postJson("/token/refresh", { refresh_token: b.refreshToken }, {}, off),
    ]);
    // Without the allowance exactly one of two racing refreshes wins, and the session goes on.
    expect(responses.map((res) => res.status).sort()).toEqual([200, 401]);
    const winner = await pairOf(responses.find((res) => res.status === 200) as Response);
    expect((await rows(b.body.id)).filter((row) => row.replaced_by === null && row.revoked_at === null)).toHaveLength(
      1,
    );
    const next = await pairOf(await postJson("/token/refresh", { refresh_token: winner.refresh_token }, {}, off));
    // An immediate replay is theft.
    await expectInvalid(await postJson("/token/refresh", { refresh_token: winner.refresh_token }, {}, off));
    await expectInvalid(await postJson("/token/refresh", { refresh_token: next.refresh_token }, {}, off));
  });

  it("refuses a rotated token whose session was logged out, even within the interval", async () => {
    const { refreshToken } = await registered();
    const pair = await pairOf(await refresh(refreshToken));
    expect((await call("/logout", { method: "POST", headers: bearer(pair.token) })).status).toBe(204);
    await expectInvalid(await refresh(refreshToken));
  });

  it("refuses the session's earlier refresh tokens after a password change, even within the interval; the session goes on", async () => {
    const { input, refreshToken } = await registered();
    const rotated = await pairOf(await refresh(refreshToken));
    const res = await call("/me/password", {
      method: "POST",
      headers: { ...bearer(rotated.token), "content-type": "application/json" },
      body: JSON.stringify({ currentPassword: input.password, newPassword: "a brand new passphrase" }),
    });
    const changed = await pairOf(res);
    await expectInvalid(await refresh(refreshToken));
    await expectInvalid(await refresh(rotated.refresh_token));
    expect((await call("/me", { headers: bearer(changed.token) })).status).toBe(200);
    await pairOf(await refresh(changed.refresh_token));
  });

  it("lists a session answered twice once in GET /sessions, and DELETE /sessions/:id ends every branch", async () => {
    const { refreshToken, token } = await registered();
    const pairs = await Promise.all([refresh(refreshToken).then(pairOf), refresh(refreshToken).then(pairOf)]);
    const sid = claimsOf(token).sid as string;
    const listed = (await (await call("/sessions", { headers: bearer(token) })).json()) as {
      sessions: { id: string }[];
    };
    expect(listed.sessions.map((session) => session.id)).toEqual([sid]);
    expect((await call(`/sessions/${sid}`, { method: "DELETE", headers: bearer(token) })).status).toBe(204);
    for (const pair of pairs) await expectInvalid(await refresh(pair.refresh_token));
  });
});

describe("logout", () => {
  it("POST /logout revokes only the current session", async () => {
    const { input, token } = await registered();
    const other = await loggedIn(input);
    expect((await call("/logout", { method: "POST", headers: bearer(token) })).status).toBe(204);
    await expectInvalid(await call("/me", { headers: bearer(token) }));
    expect((await call("/me", { headers: bearer(other.token) })).status).toBe(200);
    expect((await refresh(other.refresh_token)).status).toBe(200);
  });

  it("POST /logout/all revokes every session of the user, and no one else's", async () => {
    const { input, token, refreshToken } = await registered();
    const other = await loggedIn(input);
    const stranger = await registered();
    expect((await call("/logout/all", { method: "POST", headers: bearer(other.token) })).status).toBe(204);
    await expectInvalid(await call("/me", { headers: bearer(token) }));
    await expectInvalid(await refresh(refreshToken));
    await expectInvalid(await refresh(other.refresh_token));
    expect((await call("/me", { headers: bearer(stranger.token) })).status).toBe(200);
  });

  it("keeps /welcome stateless: a logged-out access token works there until it expires", async () => {
    const { token } = await registered();
    await call("/logout", { method: "POST", headers: bearer(token) });
    expect((await call("/welcome", { headers: bearer(token) })).status).toBe(200);
  });

  it("needs a token: 403 without, 401 with a bad one", async () => {
    expect((await call("/logout", { method: "POST" })).status).toBe(403);
    await expectInvalid(await call("/logout/all", { method: "POST", headers: bearer("x.y.z") }));
  });
});

describe("GET /sessions and DELETE /sessions/:id", () => {
  it("lists the user's live sessions and marks the current one", async () => {
    const { input, token } = await registered();
    await loggedIn(input, { "User-Agent": "second-device" });
    const res = await call("/sessions", { headers: bearer(token) });
    expect(res.status).toBe(200);
    const { sessions } = (await res.json()) as { sessions: Record<string, unknown>[] };
    expect(sessions).toHaveLength(2);
    expect(Object.keys(sessions[0] ?? {}).sort()).toEqual([
      "created_at",
      "current",
      "id",
      "ip",
      "last_used_at",
      "user_agent",
    ]);
    expect(sessions.filter((session) => session.current)).toEqual([
      expect.objectContaining({ id: claimsOf(token).sid }),
    ]);
    expect(sessions.map((session) => session.user_agent)).toContain("second-device");
    expect(JSON.stringify(sessions)).not.toMatch(/hash|refresh/i);
  });

  it("shows a refreshed session once, with its original start time", async () => {
    const { token, refreshToken } = await registered();
    const before = (await (await call("/sessions", { headers: bearer(token) })).json()) as {
      sessions: { created_at: string }[];
    };
    const pair = (await (await refresh(refreshToken)).json()) as TokenPair;
    const after = (await (await call("/sessions", { headers: bearer(pair.token) })).json()) as {
      sessions: { created_at: string }[];
    };
    expect(after.sessions).toHaveLength(1);
    expect(after.sessions[0]?.created_at).toBe(before.sessions[0]?.created_at);
  });

  it("revokes one of the user's own sessions with 204", async () => {
    const { input, token } = await registered();
    const other = await loggedIn(input);
    const sid = claimsOf(other.token).sid as string;
    expect((await call(`/sessions/${sid}`, { method: "DELETE", headers: bearer(token) })).status).toBe(204);
    await expectInvalid(await refresh(other.refresh_token));
    expect((await call("/me", { headers: bearer(token) })).status).toBe(200);
  });

  it("answers 404, never 403, for another user's session id or a made-up one", async () => {
    const alice = await registered();
    const bob = await registered();
    const bobSid = claimsOf(bob.token).sid as string;
    for (const id of [bobSid, crypto.randomUUID(), "nope"]) {
      const res = await call(`/sessions/${id}`, { method: "DELETE", headers: bearer(alice.token) });
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe("not_found");
    }
    expect((await refresh(bob.refreshToken)).status).toBe(200);
  });

  it("refuses access tokens from before sessions existed (no sid) on D1-checked routes", async () => {
    const { sign } = await import("hono/jwt");
    const { body } = await registered();
    const now = Math.floor(Date.now() / 1000);
    const legacy = await sign(
      { sub: body.id, user_id: body.id, email: body.email, iat: now, exp: now + 60 },
      env.TOKEN_KEY,
      "HS256",
    );
    await expectInvalid(await call("/sessions", { headers: bearer(legacy) }));
    expect((await call("/welcome", { headers: bearer(legacy) })).status).toBe(200);
  });
});

function registeredInput(body: Record<string, unknown>) {
  return { email: body.email as string, password: "correct horse battery" };
}
