import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, newUser, postJson, registered } from "./helpers";

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** The real local D1, recording how each request opens its session. */
function recordingDb(opened: (string | undefined)[]): D1Database {
  return {
    withSession: (constraintOrBookmark?: string) => {
      opened.push(constraintOrBookmark);
      return env.DB.withSession(constraintOrBookmark);
    },
  } as D1Database;
}

const welcome = (token: string, headers: Record<string, string> = {}) =>
  call("/welcome", { headers: { authorization: `Bearer ${token}`, ...headers } });

// Local D1 has no replicas, so sessions cannot be stale here; these tests prove the
// plumbing: the bookmark goes out, comes back in, and reaches D1's session.
describe("D1 Sessions bookmarks (X-D1-Bookmark)", () => {
  it("register answers with a bookmark, and a login that sends it back answers with one at least as new", async () => {
    const user = newUser();
    const created = await postJson("/register", user);
    expect(created.status).toBe(201);
    const afterWrite = created.headers.get("x-d1-bookmark") ?? "";
    expect(afterWrite).toMatch(BOOKMARK);

    const login = await postJson(
      "/login",
      { email: user.email, password: user.password },
      { "x-d1-bookmark": afterWrite },
    );
    expect(login.status).toBe(200);
    const afterRead = login.headers.get("x-d1-bookmark") ?? "";
    expect(afterRead).toMatch(BOOKMARK);
    // Bookmarks are fixed-width hex, so string order is time order.
    expect(afterRead >= afterWrite).toBe(true);
  });

  it("starts the request's D1 session from the client's bookmark", async () => {
    const { input } = await registered();
    const written = (await postJson("/register", newUser())).headers.get("x-d1-bookmark") ?? "";

    const opened: (string | undefined)[] = [];
    const res = await postJson(
      "/login",
      { email: input.email, password: input.password },
      { "x-d1-bookmark": written },
      { DB: recordingDb(opened) },
    );
    expect(res.status).toBe(200);
    expect(opened).toEqual([written]);
  });

  it("lets reads go to any replica when the client sends no bookmark", async () => {
    const opened: (string | undefined)[] = [];
    const res = await postJson(
      "/login",
      { email: "nobody@example.com", password: "whatever1" },
      {},
      {
        DB: recordingDb(opened),
      },
    );
    expect(res.status).toBe(400);
    expect(opened).toEqual(["first-unconstrained"]);
  });

  it("ignores a malformed bookmark instead of failing the request", async () => {
    for (const junk of ["garbage", "first-primary", `${"0".repeat(8)}-${"0".repeat(8)}`, "a".repeat(5000)]) {
      const opened: (string | undefined)[] = [];
      const res = await postJson("/register", newUser(), { "x-d1-bookmark": junk }, { DB: recordingDb(opened) });
      expect(res.status).toBe(201);
      expect(opened).toEqual(["first-unconstrained"]);
      expect(res.headers.get("x-d1-bookmark")).toMatch(BOOKMARK);
    }
  });

  it("hands the bookmark back unchanged on a request that touches no data", async () => {
    const { token } = await registered();
    const written = (await postJson("/register", newUser())).headers.get("x-d1-bookmark") ?? "";
    const res = await welcome(token, { "x-d1-bookmark": written });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-d1-bookmark")).toBe(written);
  });

  it("sends no bookmark when the request brought none and touched no data", async () => {
    const { token } = await registered();
    expect((await welcome(token)).headers.has("x-d1-bookmark")).toBe(false);
    expect((await call("/no-such-route")).headers.has("x-d1-bookmark")).toBe(false);
  });
});
