import { describe, expect } from "vitest";
import { type Answer, bearer, type Client, claimsOf, expectError, expectStatus, it, target } from "./helpers";

/** A 200 with a new token pair, never cached. */
function pair(res: Answer): { token: string; refresh_token: string } {
  expectStatus(res, 200);
  expect(res.headers["cache-control"], "Cache-Control").toBe("no-store");
  return JSON.parse(res.text);
}

const refresh = (t: Client, token: string) => t.post("/token/refresh", { refresh_token: token });

describe("refresh token races and replays", () => {
  it("two parallel refreshes with the same token: both 200, same session, both pairs work, the session lives", async ({
    t,
  }) => {
    const user = await t.register();
    const answers = await Promise.all([refresh(t, user.refresh_token), refresh(t, user.refresh_token)]);
    const pairs = answers.map(pair);
    expect(pairs[0]?.refresh_token, "the same refresh token twice").not.toBe(pairs[1]?.refresh_token);
    for (const next of pairs) {
      expect(claimsOf(next.token).sid, "another session").toBe(claimsOf(user.token).sid);
      await t.me(next.token);
      pair(await refresh(t, next.refresh_token));
    }
  });

  it("a retry after a lost response (same token again at once) -> 200, nothing revoked", async ({ t }) => {
    const user = await t.register();
    const lost = pair(await refresh(t, user.refresh_token));
    const retried = pair(await refresh(t, user.refresh_token));
    await t.me(lost.token);
    await t.me(retried.token);
    pair(await refresh(t, retried.refresh_token));
    pair(await refresh(t, lost.refresh_token));
  });

  const interval = target.reuseInterval;
  it.skipIf(interval === undefined)(
    "a rotated token presented after REFRESH_REUSE_INTERVAL -> 401 and the whole session revoked (needs BLACKBOX_REUSE_INTERVAL)",
    async ({ t }) => {
      const user = await t.register();
      const legit = pair(await refresh(t, user.refresh_token));
      await new Promise((resolve) => setTimeout(resolve, (interval ?? 0) * 1000 + 1000));
      expectError(await refresh(t, user.refresh_token), 401, "invalid_token");
      expectError(await refresh(t, legit.refresh_token), 401, "invalid_token");
      expectError(await t.get("/me", bearer(legit.token)), 401, "invalid_token");
    },
    ((interval ?? 0) + 30) * 1000,
  );
});
