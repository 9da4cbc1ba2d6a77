import { AsyncLocalStorage } from "node:async_hooks";
import { sign } from "hono/jwt";
import { app as reference } from "../../reference/src/app";
import bcryptRoutes from "../../reference/src/index";
import { counting, fromMemory, type Recording, recording } from "./d1";

// The bench worker, never deployed: the API's own Hono app called with bindings of the
// bench's making, so nothing in src/ exists for the bench. `benchWorker(app)` makes it; its
// entry is written by run.mjs next to the wrangler config it derives from the API's
// (`.wrangler/<name>.entry.ts`: the app from wrangler.toml's `main`, which exports `app`),
// so the same bench worker runs this checkout's API or, with `--against`, another build's.
//
// - Any path outside `/__bench/`: the API, with its D1 binding wrapped to count round
//   trips; the answer carries them in `X-D1-Round-Trips` (the load runs read it). A request
//   with `X-Bench-Variant: <variant>` runs under that variant's settings (see VARIANTS).
// - `/__bench/record/<variant>/<path>`: the request goes to the API with a real local D1
//   session under `variant`'s settings (see VARIANTS), and the request and every D1 answer
//   are kept (the last request per variant and path).
// - `POST /__bench/replay?what=...&n=<count>`: `count` times inside this one request, so
//   the bench can read this process's CPU before and after (the API's own CPU in its
//   isolate, D1 answered from memory, no HTTP in front):
//   - `what=route&variant=<v>&path=<p>`: the recorded request, each D1 call answered with a
//     copy of its recorded answer (the same SQL gets the answer it had, whatever the values);
//     with `d1=local`, by the real local D1 instead (only for requests that can be repeated);
//   - `what=reference`: the reference worker's one JSON route;
//   - `what=bcrypt&cost=<c>`: the reference worker's bcrypt compare at cost `c`;
//   - `what=binding`: a round trip over a service binding to this worker's `/__bench/echo`
//     with a 1 KiB JSON body and answer, what a D1 call costs the calling isolate (the
//     binding's client side: a subrequest, JSON both ways) plus the echo;
//   - `what=sign&key=jwk|cryptokey`: hono/jwt `sign` of an access token's claims with
//     ES256, given the private JWK (imported on every call, as hono/jwt does with a JWK;
//     src/identity/tokens.ts signs with the CryptoKey) or a CryptoKey imported once.
//   Answers `{ statuses: {"200": count}, misses: [], roundTrips }` (D1 round trips per request).
// - `POST /__bench/oauth-code`: a client and an authorization code in D1, for recording
//   POST /oauth/token (see `oauthCode`).

type Env = CloudflareBindings & {
  SELF: Fetcher;
  /** A throwaway ES256 private JWK array for the run (`npm run bench` passes it). */
  BENCH_ES256_KEYS?: string;
};
/** What the bench needs of the API: its Hono app's `fetch`. */
export type ApiApp = {
  fetch(request: Request, env: CloudflareBindings, ctx: ExecutionContext): Response | Promise<Response>;
};
type Kept = { method: string; headers: [string, string][]; body: string | undefined; answers: Recording };

/** The OAuth provider on, with the ES256 key it needs (its id_tokens verify by the JWKS). */
const oauth = (env: Env) => ({
  JWT_ALG: "ES256",
  JWT_PRIVATE_KEYS: env.BENCH_ES256_KEYS ?? "",
  OAUTH_PROVIDER: "true",
  PUBLIC_URL: "http://localhost:8787",
});

/** Settings a recorded request runs under, on top of the API's own. `cost4` (bcrypt cost
 * 4, which needs ENVIRONMENT=test) runs POST /login's code with 1/64 of the bcrypt work.
 * `oauth-code` and `oauth-refresh` are the same settings (the provider on): two names,
 * because a recording is kept per variant and path and both grants go to POST /oauth/token. */
const VARIANTS = {
  api: () => ({}),
  es256: (env: Env) => ({ JWT_ALG: "ES256", JWT_PRIVATE_KEYS: env.BENCH_ES256_KEYS ?? "" }),
  cost4: () => ({ ENVIRONMENT: "test", BCRYPT_COST: "4" }),
  "oauth-code": oauth,
  "oauth-refresh": oauth,
} as const;
type Variant = keyof typeof VARIANTS;
const isVariant = (name: string): name is Variant => Object.hasOwn(VARIANTS, name);

const ROUND_TRIPS_HEADER = "X-D1-Round-Trips";
const VARIANT_HEADER = "X-Bench-Variant";
const kept = new Map<string, Kept>();

/** The round-trip counter of the request running. */
const current = new AsyncLocalStorage<{ roundTrips: number }>();
/** One counted env per env the runtime hands in and variant: the app's config and keys are
 * cached by env object. */
const countedEnvs = new WeakMap<object, Map<Variant, CloudflareBindings>>();

async function passThrough(api: ApiApp, request: Request, env: Env, ctx: ExecutionContext) {
  // `X-Bench-Variant`: the request runs under that variant's settings (the load runs' cost-4 login).
  const asked = request.headers.get(VARIANT_HEADER);
  const variant = asked && isVariant(asked) ? asked : "api";
  let byVariant = countedEnvs.get(env);
  if (!byVariant) {
    byVariant = new Map();
    countedEnvs.set(env, byVariant);
  }
  let bindings = byVariant.get(variant);
  if (!bindings) {
    bindings = { ...env, ...VARIANTS[variant](env), DB: counting(env.DB, () => current.getStore()) };
    byVariant.set(variant, bindings);
  }
  const counter = { roundTrips: 0 };
  let response = await current.run(counter, () => api.fetch(request, bindings, ctx));
  try {
    response.headers.set(ROUND_TRIPS_HEADER, String(counter.roundTrips));
  } catch {
    // An answer with immutable headers (a static asset): copied first.
    response = new Response(response.body, response);
    response.headers.set(ROUND_TRIPS_HEADER, String(counter.roundTrips));
  }
  return response;
}

/** A fresh client address per replayed request, as the rate limits expect from real clients. */
let client = 0;
const nextAddress = () => {
  client = (client + 1) % 65_536;
  return `10.200.${client >> 8}.${client & 255}`;
};

async function record(api: ApiApp, request: Request, env: Env, ctx: ExecutionContext, variant: Variant, path: string) {
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.text();
  const entry: Kept = { method: request.method, headers: [...request.headers], body, answers: new Map() };
  kept.set(`${variant} ${path.split("?")[0] ?? path}`, entry);
  const DB = { withSession: (start: string) => recording(env.DB.withSession(start), entry.answers) };
  const forwarded = new Request(`http://localhost${path}`, { method: entry.method, headers: entry.headers, body });
  return api.fetch(forwarded, { ...env, ...VARIANTS[variant](env), DB } as unknown as CloudflareBindings, ctx);
}

/** About what one D1 call carries each way: a statement with its values, or a row or two. */
const ECHO_BODY = JSON.stringify({
  sql: "select ".padEnd(600, "x"),
  params: ["p".repeat(36)],
  rows: ["r".repeat(300)],
});

/** One replayed unit of work of `what`, answering a Response (read whole, as a client would). */
type Unit = () => Response | Promise<Response>;

async function replay(api: ApiApp, env: Env, ctx: ExecutionContext, query: URLSearchParams, count: number) {
  const what = query.get("what") ?? "";
  const misses = new Set<string>();
  const calls = { count: 0 };
  const local = { roundTrips: 0 };
  let unit: Unit;
  if (what === "route") {
    const variant = query.get("variant") ?? "api";
    const path = query.get("path") ?? "";
    const entry = kept.get(`${variant} ${path}`);
    if (!isVariant(variant) || !entry) {
      return Response.json({ error: `nothing recorded for ${variant} ${path}` }, { status: 404 });
    }
    // One env for the whole run, as the runtime gives one per isolate. `d1=local`: the real
    // local D1 instead (SQLite in this process), for routes that can run again and again.
    const DB =
      query.get("d1") === "local"
        ? counting(env.DB, () => local)
        : { withSession: () => fromMemory(entry.answers, misses, calls) };
    const memoryEnv = { ...env, ...VARIANTS[variant](env), DB } as unknown as CloudflareBindings;
    unit = () => {
      const headers = new Headers(entry.headers);
      headers.set("cf-connecting-ip", nextAddress());
      const request = new Request(`http://localhost${path}`, { method: entry.method, headers, body: entry.body });
      return api.fetch(request, memoryEnv, ctx);
    };
  } else if (what === "reference") {
    unit = () => reference.fetch(new Request("http://localhost/"));
  } else if (what === "bcrypt") {
    const cost = Number(query.get("cost") ?? "10");
    unit = () => bcryptRoutes.fetch(new Request(`http://localhost/bcrypt/compare?cost=${cost}`), env, ctx);
  } else if (what === "binding") {
    unit = async () => {
      const response = await env.SELF.fetch("http://self/__bench/echo", { method: "POST", body: ECHO_BODY });
      // Read as D1's client reads its own answers: as JSON.
      await response.clone().json();
      return response;
    };
  } else if (what === "sign") {
    unit = await signer(env, query.get("key") ?? "");
  } else {
    return Response.json({ error: `unknown what=${what}` }, { status: 400 });
  }
  const statuses: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const response = await unit();
    await response.arrayBuffer();
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
  }
  return Response.json({
    statuses,
    misses: [...misses].map((key) => key.slice(0, 120)),
    roundTrips: (calls.count + local.roundTrips) / count,
  });
}

/** `sign` of an access token's claims with ES256: with the JWK (`key=jwk`, hono/jwt imports
 * it on every call) or with a CryptoKey imported once here (`key=cryptokey`). */
async function signer(env: Env, key: string): Promise<Unit> {
  const [jwk] = JSON.parse(env.BENCH_ES256_KEYS ?? "[]") as (JsonWebKey & { kid: string; alg: "ES256" })[];
  if (!jwk) throw new Error("BENCH_ES256_KEYS is not set");
  const imported = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const signWith = key === "cryptokey" ? imported : jwk;
  const ok = () => new Response(null, { status: 200 });
  return async () => {
    const iat = Math.floor(Date.now() / 1000);
    const id = crypto.randomUUID();
    const claims = {
      sub: id,
      user_id: id,
      email: "bench@example.com",
      role: "user",
      email_verified: false,
      sid: crypto.randomUUID(),
      jti: crypto.randomUUID(),
      iat,
      exp: iat + 3600,
      amr: ["pwd"],
    };
    // hono/jwt puts the key's `kid` in the header only for a JWK; the CryptoKey run signs the same claims.
    await sign(claims, signWith, "ES256");
    return ok();
  };
}

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const b64url = (bytes: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const sha256 = (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/** `POST /__bench/oauth-code {user_id}`: what POST /oauth/token's authorization_code grant
 * needs before it can be recorded, written straight into D1 as the provider stores it (the
 * authorize pages would): a public client with the authorization_code and refresh_token
 * grants, and a live `oauth_code` single-use row for the user (src/features/oauth/codes.ts).
 * Answers the token request's form fields. */
async function oauthCode(env: Env, { user_id: userId }: { user_id: string }) {
  const clientId = `bench-${crypto.randomUUID()}`;
  const redirectUri = "http://127.0.0.1:9/callback";
  const code = b64url(crypto.getRandomValues(new Uint8Array(32)).buffer);
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)).buffer);
  const now = Date.now();
  const data = {
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: b64url(await sha256(verifier)),
    scope: "email openid profile",
    auth_time: Math.floor(now / 1000),
    amr: ["pwd"],
  };
  await env.DB.batch([
    env.DB.prepare(
      `insert into oauth_clients (client_id, client_name, type, registration, token_endpoint_auth_method,
         redirect_uris, grant_types, first_party, created_at, updated_at)
       values (?, 'Bench', 'public', 'admin', 'none', ?, '["authorization_code","refresh_token"]', 1, ?, ?)`,
    ).bind(clientId, JSON.stringify([redirectUri]), now, now),
    env.DB.prepare(
      `insert into single_use_tokens (id, token_hash, purpose, user_id, target, data, attempts, created_at, expires_at)
       values (?, ?, 'oauth_code', ?, ?, ?, 0, ?, ?)`,
    ).bind(crypto.randomUUID(), hex(await sha256(code)), userId, clientId, JSON.stringify(data), now, now + 600_000),
  ]);
  return Response.json({
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
    client_id: clientId,
  });
}

/** The bench worker around `api`. */
export function benchWorker(api: ApiApp): ExportedHandler<Env> {
  return { fetch: (request, env, ctx) => route(api, request, env, ctx) };
}

async function route(api: ApiApp, request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  // The load runs measure the API through here: no URL parsed for them.
  if (!request.url.startsWith("/__bench/", request.url.indexOf("/", 8))) return passThrough(api, request, env, ctx);
  const url = new URL(request.url);
  const [, , action, variant = "", ...rest] = url.pathname.split("/");
  if (action === "record" && isVariant(variant))
    return record(api, request, env, ctx, variant, `/${rest.join("/")}${url.search}`);
  if (action === "replay" && request.method === "POST") {
    const count = Number(url.searchParams.get("n") ?? "1");
    if (!Number.isInteger(count) || count < 1 || count > 100_000) return Response.json({ error: "n" }, { status: 400 });
    return replay(api, env, ctx, url.searchParams, count);
  }
  if (action === "ready") return Response.json({ ready: true });
  if (action === "oauth-code" && request.method === "POST") return oauthCode(env, await request.json());
  if (action === "echo" && request.method === "POST") {
    return new Response(await request.text(), { headers: { "content-type": "application/json" } });
  }
  return Response.json({ error: "not found" }, { status: 404 });
}
