// A small typed client for this API, built on Hono's RPC client. It keeps the access
// token in memory, attaches it, refreshes once for any number of concurrent 401s
// (single-flight, and across tabs through the Web Locks API), retries each failed call
// once, and speaks both refresh transports: "cookie" for browsers (the refresh token
// lives in an HttpOnly cookie no script can read) and "body" for Node and native apps
// (the refresh token lives in a store you provide).
import { hc } from "hono/client";
import type { AppType } from "./app-type";

export type { AppType };

/** The typed RPC client for every route (`api.me.$get()`, `api.sessions.$get()`, ...). */
export type ApiClient = ReturnType<typeof hc<AppType>>;

/** The JSON body of a typed call's successful answer. */
type Answer<Call> = Call extends (...args: never[]) => Promise<infer Res>
  ? Res extends { json(): Promise<infer Body> }
    ? Body
    : never
  : never;

/** What `createAuthClient` returns. Written out (not inferred) so that the published
 * declarations name `ApiClient` instead of repeating every route. */
export interface AuthClient {
  /** The typed RPC client, with the access token attached. */
  api: ApiClient;
  /** An untyped request to `path` with the same token handling as `api`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The current access token, if any (kept in memory only). */
  readonly accessToken: string | undefined;
  /** Logs in; the answer is the user with the access token. A second factor is refused as
   * `AuthClientError` 403 `mfa_required` (finish it with `api.login.mfa.$post`). */
  login(input: { email: string; password: string }): Promise<Answer<ApiClient["login"]["$post"]>>;
  /** Creates an account and signs it in. */
  register(input: {
    firstName: string;
    lastName: string;
    email: string;
    password: string;
  }): Promise<Answer<ApiClient["register"]["$post"]>>;
  /** Restores or renews the session: true when an access token is in hand after it.
   * Concurrent callers share one request. */
  refresh(): Promise<boolean>;
  /** Changes the password; every other session ends, this one gets new tokens. */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /** Ends this session (all of them with `everywhere`) and forgets the tokens, in every
   * tab. Local state is cleared even when the API cannot be reached. */
  logout(everywhere?: boolean): Promise<void>;
  /** Stops listening to other tabs. */
  close(): void;
}

/** Where the refresh token travels: see docs/browser-sessions.md. */
export type Transport = "cookie" | "body";

/** Keeps the refresh token in body mode (a file, the OS keychain, ...). */
export interface RefreshTokenStore {
  get(): string | undefined | Promise<string | undefined>;
  set(token: string | undefined): void | Promise<void>;
}

/** A store that forgets the refresh token when the process ends. */
export function memoryStore(initial?: string): RefreshTokenStore {
  let token = initial;
  return {
    get: () => token,
    set: (next) => {
      token = next;
    },
  };
}

export type AuthClientOptions = {
  /** The API's base URL, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** `"cookie"` for browsers (needs `CORS_CREDENTIALS=true` when the page is on another
   * origin), `"body"` elsewhere. */
  transport: Transport;
  /** Body mode only: where the refresh token is kept. Default: in memory. */
  store?: RefreshTokenStore;
  /** The fetch to use; defaults to the global one. */
  fetch?: typeof fetch;
  /** Name of the Web Lock and BroadcastChannel shared by this app's tabs. */
  channel?: string;
  /** Called when the session ends: logout here or in another tab, or a refused refresh. */
  onSignedOut?: () => void;
};

/** A non-2xx answer from a client method, with the API's error envelope. */
export class AuthClientError extends Error {
  override name = "AuthClientError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Routes that issue tokens: never sent with the access token, never retried; their
 * tokens are kept from whichever call made them. */
const TOKEN_ROUTES = new Set(["/login", "/login/mfa", "/login/passkey", "/register", "/token/refresh"]);
/** Routes that end the session: their success signs this client (and its tabs) out. */
const LOGOUT_ROUTES = new Set(["/logout", "/logout/all"]);

/** Just what this client uses of the Web Locks API and BroadcastChannel, typed here so
 * the module compiles for browsers, Node and workers alike. */
type Locks = { request<T>(name: string, callback: () => Promise<T>): Promise<T> };
type Channel = {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
};
type Message = { type: "token"; token: string } | { type: "signed-out" };

/**
 * Creates a client. `api` is the full typed RPC client (`api.me.$get()`,
 * `api.sessions.$get()`, ...): every call through it carries the access token and is
 * retried once after a refresh when it meets a 401.
 */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  const { transport } = options;
  const store = options.store ?? memoryStore();
  const rawFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const name = options.channel ?? "edge-auth-refresh";
  const scope = globalThis as { navigator?: { locks?: Locks }; BroadcastChannel?: new (name: string) => Channel };
  const locks = scope.navigator?.locks;
  const channel = transport === "cookie" && scope.BroadcastChannel ? new scope.BroadcastChannel(name) : undefined;

  let accessToken: string | undefined;
  /** Bumped whenever the access token changes, here or from another tab. */
  let generation = 0;
  let inflight: Promise<boolean> | undefined;

  function adopt(token: string | undefined, announce: boolean) {
    accessToken = token;
    generation++;
    if (announce) channel?.postMessage((token ? { type: "token", token } : { type: "signed-out" }) satisfies Message);
  }

  async function signOut(announce: boolean) {
    if (accessToken === undefined && !announce) return;
    adopt(undefined, announce);
    if (transport === "body") await store.set(undefined);
    options.onSignedOut?.();
  }

  if (channel) {
    // Another tab refreshed or logged out: the cookie is shared, so its news are ours.
    channel.onmessage = (event) => {
      const message = event.data as Message;
      if (message?.type === "token" && typeof message.token === "string") adopt(message.token, false);
      if (message?.type === "signed-out") void signOut(false);
    };
  }

  /** Every request goes out through here: credentials for the cookie, the access token
   * for everything but the token routes, one refresh and one retry on 401. */
  async function send(input: RequestInfo | URL, init: RequestInit = {}, locked = false): Promise<Response> {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    const request = (token: string | undefined) => {
      const headers = new Headers(init.headers);
      if (token) headers.set("Authorization", `Bearer ${token}`);
      return rawFetch(input, { ...init, headers, ...(transport === "cookie" && { credentials: "include" }) });
    };
    if (TOKEN_ROUTES.has(path)) {
      const issue = async () => {
        const res = await request(undefined);
        if (res.ok) await keep((await res.clone().json()) as { token: string; refresh_token?: string });
        return res;
      };
      // A shared cookie is refreshed by one tab at a time: the next tab's request then
      // carries the rotated cookie instead of presenting a spent one (reuse detection).
      return path === "/token/refresh" && locks && !locked ? locks.request(name, issue) : issue();
    }
    // After a reload the access token is gone, but the cookie (or store) may hold a session.
    if (accessToken === undefined) await refresh();
    const sent = accessToken;
    let res = await request(sent);
    // Refresh only if nobody replaced the token while this call was out.
    if (res.status === 401 && sent !== undefined && (accessToken !== sent || (await refresh()))) {
      if (accessToken !== undefined) res = await request(accessToken);
    }
    if (res.ok && LOGOUT_ROUTES.has(path)) await signOut(true);
    return res;
  }

  const api: ApiClient = hc<AppType>(options.baseUrl, { fetch: send as typeof fetch });

  /** One refresh at a time in this page, and (with Web Locks) in all tabs of this
   * origin; a tab that waited and was handed a new token meanwhile does not refresh. */
  function refresh(): Promise<boolean> {
    inflight ??= (async () => {
      const seen = generation;
      const run = async () => (generation !== seen && accessToken !== undefined ? true : refreshNow());
      return locks ? locks.request(name, run) : run();
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  async function refreshNow(): Promise<boolean> {
    const stored = transport === "body" ? await store.get() : undefined;
    if (transport === "body" && stored === undefined) return false;
    // Already inside the lock (see refresh): send must not ask for it again.
    const insideLock = (input: RequestInfo | URL, init?: RequestInit) => send(input, init, true);
    const res = await api.token.refresh.$post(
      { json: transport === "cookie" ? { refresh_transport: "cookie" } : { refresh_token: stored } },
      { fetch: insideLock as typeof fetch },
    );
    if (res.status === 401 || res.status === 400) {
      // The session is over (expired, revoked, logged out elsewhere): say so once.
      if (accessToken !== undefined || (transport === "body" && stored !== undefined)) await signOut(true);
      return false;
    }
    if (!res.ok) throw await failure(res);
    return true;
  }

  /** Takes the tokens from a token-issuing answer. */
  async function keep(body: { token: string; refresh_token?: string }) {
    if (transport === "body" && body.refresh_token) await store.set(body.refresh_token);
    adopt(body.token, true);
  }

  return {
    /** The typed RPC client, with the access token attached. */
    api,
    /** An untyped request to `path` with the same token handling as `api`. */
    fetch: (path: string, init?: RequestInit) => send(new URL(path, options.baseUrl), init),
    /** The current access token, if any (kept in memory only). */
    get accessToken() {
      return accessToken;
    },
    /** Logs in; the answer is the user with the access token. */
    async login(input: { email: string; password: string }) {
      const res = await api.login.$post({ json: { ...input, refresh_transport: transport } });
      if (res.status !== 200) throw await failure(res);
      return res.json();
    },
    /** Creates an account and signs it in. */
    async register(input: { firstName: string; lastName: string; email: string; password: string }) {
      const res = await api.register.$post({ json: { ...input, refresh_transport: transport } });
      if (res.status !== 201) throw await failure(res);
      return res.json();
    },
    /** Restores or renews the session: true when an access token is in hand after it.
     * Concurrent callers share one request. */
    refresh,
    /** Changes the password; every other session ends, this one gets new tokens. */
    async changePassword(currentPassword: string, newPassword: string) {
      const res = await api.me.password.$post({ json: { currentPassword, newPassword, refresh_transport: transport } });
      if (res.status !== 200) throw await failure(res);
      await keep(await res.json());
    },
    /** Ends this session (all of them with `everywhere`) and forgets the tokens, in
     * every tab. Local state is cleared even when the API cannot be reached. */
    async logout(everywhere = false) {
      try {
        const res = await (everywhere ? api.logout.all.$post() : api.logout.$post());
        // 401/403: the session had already ended, which is what was asked for.
        const status: number = res.status;
        if (!res.ok && status !== 401 && status !== 403) throw await failure(res);
      } finally {
        // A 204 already signed out (in send); anything else still forgets the tokens here.
        if (accessToken !== undefined) await signOut(true);
      }
    },
    /** Stops listening to other tabs. */
    close() {
      channel?.close();
    },
  };
}

async function failure(res: { status: number; json(): Promise<unknown> }): Promise<AuthClientError> {
  let code = "unknown";
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not our envelope
  }
  return new AuthClientError(res.status, code, message);
}
