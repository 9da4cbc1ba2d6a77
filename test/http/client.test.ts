import { describe, expect, inject, it } from "vitest";
import { AuthClientError, createAuthClient, memoryStore } from "../../packages/client/src";

const { defaults, shortTokens } = inject("servers");

/** A fetch that counts what the client sends, by method and path, and passes it on. */
function countingFetch() {
  const counts = new Map<string, number>();
  const counted = (input: RequestInfo | URL, init?: RequestInit) => {
    const key = `${init?.method ?? "GET"} ${new URL(input instanceof Request ? input.url : String(input)).pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return fetch(input, init);
  };
  return { fetch: counted as typeof fetch, count: (key: string) => counts.get(key) ?? 0 };
}

function newUser() {
  return {
    firstName: "Ada",
    lastName: "Lovelace",
    email: `client-${crypto.randomUUID()}@example.com`,
    password: "correct horse battery",
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the typed client against npm run dev (body transport)", () => {
  it("refreshes exactly once when concurrent calls all meet 401, and retries each of them", async () => {
    const counter = countingFetch();
    const store = memoryStore();
    const client = createAuthClient({ baseUrl: shortTokens, transport: "body", store, fetch: counter.fetch });
    const user = newUser();
    const registered = await client.register(user);
    expect(registered.email).toBe(user.email);
    const first = client.accessToken;
    const firstRefresh = await store.get();
    expect(firstRefresh).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // TOKEN_TTL is 5 s on this server: after 6 s every call with the token gets a real 401.
    await sleep(6_000);
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.api.me.$get()));
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const [me] = await Promise.all(answers.map((res) => res.json()));
    expect(me?.email).toBe(user.email);

    expect(counter.count("POST /token/refresh")).toBe(1);
    expect(counter.count("GET /me")).toBe(12);
    expect(client.accessToken).not.toBe(first);
    expect(await store.get()).not.toBe(firstRefresh);
  });

  it("restores a session from the store with one refresh for concurrent first calls", async () => {
    const user = newUser();
    const store = memoryStore();
    await createAuthClient({ baseUrl: defaults, transport: "body", store }).register(user);
    // A new process: no access token yet, only the stored refresh token.
    const counter = countingFetch();
    const restored = createAuthClient({ baseUrl: defaults, transport: "body", store, fetch: counter.fetch });
    const answers = await Promise.all([
      restored.api.welcome.$get(),
      restored.api.me.$get(),
      restored.api.sessions.$get(),
    ]);
    expect(answers.map((res) => res.status)).toEqual([200, 200, 200]);
    expect(counter.count("POST /token/refresh")).toBe(1);
  });

  it("logs out: the API revokes the session, the store is emptied, later calls send no token", async () => {
    const store = memoryStore();
    let signedOut = 0;
    const client = createAuthClient({
      baseUrl: defaults,
      transport: "body",
      store,
      onSignedOut: () => signedOut++,
    });
    await client.register(newUser());
    const refreshToken = await store.get();
    await client.logout();
    expect(signedOut).toBe(1);
    expect(client.accessToken).toBeUndefined();
    expect(await store.get()).toBeUndefined();
    const res = await client.api.me.$get();
    expect(res.status).toBe(403);
    // The session is revoked on the server, not just forgotten here.
    const replay = await fetch(`${defaults}/token/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    expect(replay.status).toBe(401);
  });

  it("reports a refused login as an AuthClientError with the API's code", async () => {
    const client = createAuthClient({ baseUrl: defaults, transport: "body" });
    const error = await client.login({ email: newUser().email, password: "wrong password" }).catch((err) => err);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ status: 400, code: "invalid_credentials" });
    expect(client.accessToken).toBeUndefined();
  });

  it("ends the session once when the refresh token is refused, and tells the app", async () => {
    let signedOut = 0;
    const store = memoryStore("not-a-real-refresh-token");
    const client = createAuthClient({ baseUrl: defaults, transport: "body", store, onSignedOut: () => signedOut++ });
    const answers = await Promise.all([client.api.me.$get(), client.api.me.$get()]);
    expect(answers.map((res) => res.status)).toEqual([403, 403]);
    expect(signedOut).toBe(1);
    expect(await store.get()).toBeUndefined();
  });
});
