// What an app does with the package: register, log in, outlive its access token with
// concurrent calls (one refresh for all of them), log out. Shared by the Node script and
// the browser page; the type annotations are part of the test (they only compile when the
// package's declarations carry the API's routes).
import {
  type AppType,
  AuthClientError,
  type AuthClientOptions,
  createAuthClient,
  memoryStore,
} from "@edge-auth/client";
import type { hc } from "hono/client";

export type FlowResult = {
  registered: string;
  loggedIn: boolean;
  statuses: number[];
  me: string;
  refreshes: number;
  meCalls: number;
  signedOutAfterLogout: boolean;
  afterLogout: number;
  wrongPassword: { status: number; code: string } | null;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the flow against `baseUrl`, a server whose access tokens live `ttlMs`. */
export async function flow(baseUrl: string, transport: AuthClientOptions["transport"], ttlMs: number) {
  const calls: string[] = [];
  const counting = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    calls.push(`${init?.method ?? "GET"} ${url.pathname}`);
    return fetch(input, init);
  };
  const client = createAuthClient({
    baseUrl,
    transport,
    fetch: counting as typeof fetch,
    ...(transport === "body" && { store: memoryStore() }),
  });
  const email = `package-${crypto.randomUUID()}@example.com`;
  const password = "correct horse battery staple";

  const registered = await client.register({ firstName: "Ada", lastName: "Lovelace", email, password });
  const registeredEmail: string = registered.email;
  await client.logout();

  const login = await client.login({ email, password });
  const token: string = login.token;
  const expiresIn: number = login.expires_in;

  // Every call below meets a 401 once the token has expired: one refresh serves them all.
  await sleep(ttlMs + 1_000);
  const answers = await Promise.all([1, 2, 3, 4].map(() => client.api.me.$get()));
  const first = answers[0];
  if (!first) throw new Error("no answer");
  const me = await first.json();
  const meEmail: string = me.email;
  const role: "user" | "admin" = me.role;
  const refreshes = calls.filter((call) => call === "POST /token/refresh").length;
  const meCalls = calls.filter((call) => call === "GET /me").length;

  await client.logout();
  const signedOutAfterLogout = client.accessToken === undefined;
  const afterLogout = (await client.api.me.$get()).status;

  let wrongPassword: FlowResult["wrongPassword"] = null;
  try {
    await client.login({ email, password: "not the password at all" });
  } catch (err) {
    if (err instanceof AuthClientError) wrongPassword = { status: err.status, code: err.code };
  }
  client.close();

  const result: FlowResult = {
    registered: registeredEmail,
    loggedIn: token.length > 0 && expiresIn > 0 && role === "user",
    statuses: answers.map((res) => res.status),
    me: meEmail,
    refreshes,
    meCalls,
    signedOutAfterLogout,
    afterLogout,
    wrongPassword,
  };
  return result;
}

// Type-level checks: AppType is the API, not `any`.
export type Api = ReturnType<typeof hc<AppType>>;
export function typeChecks(api: Api) {
  // @ts-expect-error: not a route of the API
  void api.no_such_route;
  // @ts-expect-error: /login takes a JSON body with email and password
  void api.login.$post({ json: { email: 1 } });
  return api.sessions.$get();
}
