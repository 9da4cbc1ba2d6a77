// The API's own CPU per request inside its isolate, with D1 answered from memory: the
// figure Cloudflare bills as the Worker's CPU, without local D1's SQLite (which shares the
// Worker's workerd process here) or wrangler dev's HTTP front. Uses the bench worker in
// bench/worker/ (see its src/index.ts): one real request per route is recorded with its
// D1 answers, then replayed many times inside one request to that worker, alternating with
// its baseline run the same way, while this reads the worker process's CPU.
import { randomBytes } from "node:crypto";
import { mfaLoginRequest, passkeyLoginRequest, setupRequest as send } from "./second-factors.mjs";
import { cpuMs, waitUntilIdle } from "./servers.mjs";

/** The routes measured against the reference route, in order, and how each answers when it
 * works. `variant` names the settings they run under (bench/worker/src/index.ts VARIANTS). */
export const ISOLATE_ROUTES = [
  { name: "me", label: "GET /me (Bearer)", variant: "api", path: "/me", expect: 200 },
  { name: "refresh", label: "POST /token/refresh", variant: "api", path: "/token/refresh", expect: 200 },
  // `expires`: the recorded request holds a one-time secret that is good for a short while
  // only (a TOTP code: its 30-second step and the one before; a passkey challenge: 5
  // minutes), so its replays must come soon after its recording.
  {
    name: "login-mfa",
    label: "POST /login/mfa (TOTP code)",
    variant: "api",
    path: "/login/mfa",
    expect: 200,
    expires: true,
  },
  {
    name: "login-passkey",
    label: "POST /login/passkey",
    variant: "api",
    path: "/login/passkey",
    expect: 200,
    expires: true,
  },
  { name: "me-es256", label: "GET /me (Bearer), JWT_ALG=ES256", variant: "es256", path: "/me", expect: 200 },
  {
    name: "refresh-es256",
    label: "POST /token/refresh, JWT_ALG=ES256",
    variant: "es256",
    path: "/token/refresh",
    expect: 200,
  },
  // The OAuth provider's token endpoint (ES256, which it requires): a code traded for an
  // access token, a refresh token and an id_token; then that refresh token rotated.
  {
    name: "oauth-code",
    label: "POST /oauth/token (authorization_code, id_token)",
    variant: "oauth-code",
    path: "/oauth/token",
    expect: 200,
  },
  {
    name: "oauth-refresh",
    label: "POST /oauth/token (refresh_token)",
    variant: "oauth-refresh",
    path: "/oauth/token",
    expect: 200,
  },
];

/** POST /login against one bcrypt compare at the same cost in the same isolate: at the
 * API's cost, and at cost 4, where the bcrypt work is 1/64 and the rest shows finely; at
 * cost 4 also with the real local D1 (`d1: "local"`), which gives local D1's share directly. */
export const LOGIN_ROWS = [
  { name: "login", label: "POST /login", variant: "api", path: "/login", expect: 200, cost: 10 },
  {
    name: "login-cost4",
    label: "POST /login at bcrypt cost 4",
    variant: "cost4",
    path: "/login",
    expect: 200,
    cost: 4,
  },
  {
    name: "login-cost4-local-d1",
    label: "POST /login at bcrypt cost 4, real local D1",
    variant: "cost4",
    path: "/login",
    expect: 200,
    cost: 4,
    d1: "local",
  },
];

/**
 * Records one successful request per route on the bench worker at `url` (through
 * `/__bench/record/<variant>`): for each variant a fresh account, then its routes.
 */
export async function recordRoutes(url, { password }) {
  const recorded = new Map();
  const keep = (variant, path, answer) => recorded.set(`${variant} ${path}`, answer);
  const account = async (variant) => {
    const api = `${url}/__bench/record/${variant}`;
    const email = `bench-isolate-${variant}-${randomBytes(4).toString("hex")}@example.com`;
    const registered = await send(api, "POST", "/register", {
      firstName: "Bench",
      lastName: "Isolate",
      email,
      password,
    });
    if (registered.status !== 201)
      throw new Error(`bench (isolate): register (${variant}) answered ${registered.status}`);
    return { api, email, body: registered.body };
  };
  for (const variant of ["api", "es256"]) {
    const { api, body } = await account(variant);
    keep(variant, "/me", await send(api, "GET", "/me", undefined, body.token));
    keep(variant, "/token/refresh", await send(api, "POST", "/token/refresh", { refresh_token: body.refresh_token }));
  }
  // POST /oauth/token: a code written into D1 for a fresh account, traded (recorded under
  // `oauth-code`), then the refresh token it gave, rotated (recorded under `oauth-refresh`).
  {
    const { body } = await account("oauth-code");
    const fields = await (
      await fetch(`${url}/__bench/oauth-code`, { method: "POST", body: JSON.stringify({ user_id: body.id }) })
    ).json();
    const form = (variant, values) =>
      fetch(`${url}/__bench/record/${variant}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": "198.18.255.1" },
        body: new URLSearchParams(values).toString(),
      });
    const traded = await form("oauth-code", fields);
    const tokens = traded.status === 200 ? await traded.json() : {};
    keep("oauth-code", "/oauth/token", { status: traded.status });
    const refreshed = await form("oauth-refresh", {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token ?? "",
      client_id: fields.client_id,
    });
    keep("oauth-refresh", "/oauth/token", { status: refreshed.status });
  }
  // One request each from the second-factor loads, prepared as there (TOTP enrolled, a
  // passkey on a software authenticator, the password step or the options call done).
  const api = `${url}/__bench/record/api`;
  for (const prepare of [mfaLoginRequest, passkeyLoginRequest]) {
    const load = await prepare(api, { users: 1, amount: 1, password });
    await load.refill();
    const { method, path, body } = load.setupRequest({ method: load.method, path: load.path });
    keep("api", path, await send(api, method, path, body));
  }
  // Last: the second factors' password step above went to /login too (answered 403), and
  // the worker keeps the last request per path.
  for (const variant of ["api", "cost4"]) {
    const { api, email } = await account(variant);
    keep(variant, "/login", await send(api, "POST", "/login", { email, password }));
  }
  for (const route of [...ISOLATE_ROUTES, ...LOGIN_ROWS]) {
    const answer = recorded.get(`${route.variant} ${route.path}`);
    if (answer?.status !== route.expect) {
      throw new Error(`bench (isolate): ${route.label} answered ${answer?.status} when recorded`);
    }
  }
}

/** Runs `what` (query parameters of /__bench/replay) `count` times inside the worker: its
 * process's CPU per request in ms and the D1 round trips per request. Throws unless every
 * answer was `expect` and no SQL went unanswered. */
export async function replay(target, what, count, expect = 200) {
  const { url, processes } = target;
  await waitUntilIdle(processes);
  const query = new URLSearchParams({ ...what, n: String(count) });
  const before = cpuMs(processes).worker;
  const res = await fetch(`${url}/__bench/replay?${query}`, { method: "POST", signal: AbortSignal.timeout(900_000) });
  const after = cpuMs(processes).worker;
  const body = await res.json();
  if (res.status !== 200 || body.statuses?.[expect] !== count || body.misses.length > 0) {
    throw new Error(`bench (isolate): replaying ${query} answered ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
  }
  return { ms: (after - before) / count, roundTrips: body.roundTrips };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const range = (values) => [Math.min(...values), Math.max(...values)];

const REFERENCE = { what: "reference" };
export const routeQuery = (route) => ({
  what: "route",
  variant: route.variant,
  path: route.path,
  ...(route.d1 && { d1: route.d1 }),
});

/**
 * Every figure of the in-isolate measure, for each of `targets` (`{ url, processes }`, one
 * bench worker each: the API under test, and with `--against` the other build), measured
 * interleaved so drift on this machine touches them alike. Per target:
 * - `routes`: per ISOLATE_ROUTES entry, `rounds` pairs of (reference run, route run) of
 *   `count` requests each, after an unmeasured warm-up of both: `{ name, label, roundTrips,
 *   ownMs, referenceMs, extraMs, extraRange, boundMs, boundRange, pairs, requestsPerRun }`,
 *   where extra = route − reference per pair and bound = extra + round trips × bindingMs;
 * - `login`: per LOGIN_ROWS entry, pairs of (bcrypt compare at its cost, POST /login):
 *   `{ name, label, cost, roundTrips, loginMs, compareMs, extraMs, extraRange, boundMs,
 *   boundRange, pairs, requestsPerRun }`, extra = login − compare;
 * - `sign`: ES256 signing of an access token, pairs of (JWK imported per call, CryptoKey
 *   imported once): `{ jwkMs, cryptoKeyMs, savedMs, savedRange, pairs, requestsPerRun }`;
 * - `bindingMs`: the median CPU ms of one service-binding round trip (measured last).
 * All ms per request, medians over the pairs. `skipExpiring` leaves out the routes whose
 * recorded request `expires` (with two targets, the other's runs come between recording and
 * replay, and under load that outlasts a TOTP code).
 */
export async function isolateCpu(targets, { rounds, count, slowCount, skipExpiring = false }) {
  /** `rounds` times, for each target: `base` then `run`; the pairs per target. */
  const paired = async (base, run, n) => {
    const pairs = targets.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [i, target] of targets.entries()) {
        const b = await replay(target, base, n);
        const r = await replay(target, run, n);
        pairs[i].push({ base: b.ms, run: r.ms, roundTrips: r.roundTrips });
      }
    }
    return pairs;
  };
  const warm = async (what, n) => {
    for (const target of targets) await replay(target, what, n);
  };
  // JIT warm-up: a busy isolate runs optimized code, and the reference gets the same.
  const warmCount = Math.max(1000, Math.floor(count / 4));
  await warm(REFERENCE, warmCount);
  const routes = targets.map(() => []);
  for (const route of ISOLATE_ROUTES.filter((r) => !(skipExpiring && r.expires))) {
    await warm(routeQuery(route), warmCount);
    const pairs = await paired(REFERENCE, routeQuery(route), count);
    for (const [i, list] of pairs.entries()) routes[i].push({ route, pairs: list });
  }
  const login = targets.map(() => []);
  for (const row of LOGIN_ROWS) {
    const compare = { what: "bcrypt", cost: String(row.cost) };
    // bcrypt at cost 10 is about 80 ms a request: fewer of them, still hundreds of clock ticks a run.
    const n = row.cost >= 10 ? slowCount : count;
    await warm(compare, Math.max(2, Math.floor(n / 4)));
    await warm(routeQuery(row), Math.max(2, Math.floor(n / 4)));
    const pairs = await paired(compare, routeQuery(row), n);
    for (const [i, list] of pairs.entries()) login[i].push({ row, pairs: list, n });
  }
  const signWith = (key) => ({ what: "sign", key });
  await warm(signWith("jwk"), warmCount);
  await warm(signWith("cryptokey"), warmCount);
  const sign = await paired(signWith("cryptokey"), signWith("jwk"), count);
  // Last: thousands of subrequests leave this local isolate slower for a while (measured: the
  // second-factor routes took 0.3 ms more per request after them), so none come before a route.
  await warm({ what: "binding" }, warmCount);
  const binding = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) binding[i].push((await replay(target, { what: "binding" }, count)).ms);
  }

  return targets.map((target, i) => {
    const bindingMs = median(binding[i]);
    const tag = targets.length > 1 ? ` [${target.name}]` : "";
    console.log(`bench: in the isolate${tag}, a service-binding round trip: ${bindingMs.toFixed(3)} ms CPU`);
    const rows = routes[i].map(({ route, pairs }) => {
      const roundTrips = pairs[0].roundTrips;
      const extras = pairs.map((p) => p.run - p.base);
      const bounds = extras.map((extra) => extra + roundTrips * bindingMs);
      const row = {
        name: route.name,
        label: route.label,
        roundTrips,
        ownMs: median(pairs.map((p) => p.run)),
        referenceMs: median(pairs.map((p) => p.base)),
        extraMs: median(extras),
        extraRange: range(extras),
        boundMs: median(bounds),
        boundRange: range(bounds),
        pairs: pairs.length,
        requestsPerRun: count,
      };
      console.log(
        `bench: in the isolate${tag}, ${row.label}: ${row.ownMs.toFixed(3)} ms CPU/req, +${row.extraMs.toFixed(3)} ms over the reference, +${row.boundMs.toFixed(3)} ms with D1's client side`,
      );
      return row;
    });
    const logins = login[i].map(({ row, pairs, n }) => {
      const roundTrips = pairs[0].roundTrips;
      const extras = pairs.map((p) => p.run - p.base);
      const bounds = extras.map((extra) => extra + roundTrips * bindingMs);
      const out = {
        name: row.name,
        label: row.label,
        cost: row.cost,
        d1: row.d1 ?? "memory",
        roundTrips,
        loginMs: median(pairs.map((p) => p.run)),
        compareMs: median(pairs.map((p) => p.base)),
        extraMs: median(extras),
        extraRange: range(extras),
        boundMs: median(bounds),
        boundRange: range(bounds),
        pairs: pairs.length,
        requestsPerRun: n,
      };
      console.log(
        `bench: in the isolate${tag}, ${out.label}: ${out.loginMs.toFixed(3)} ms CPU/req, ${out.extraMs >= 0 ? "+" : ""}${out.extraMs.toFixed(3)} ms beyond one bcrypt compare at cost ${out.cost} (${out.compareMs.toFixed(3)} ms)`,
      );
      return out;
    });
    const saved = sign[i].map((p) => p.run - p.base);
    const signRow = {
      jwkMs: median(sign[i].map((p) => p.run)),
      cryptoKeyMs: median(sign[i].map((p) => p.base)),
      savedMs: median(saved),
      savedRange: range(saved),
      pairs: saved.length,
      requestsPerRun: count,
    };
    console.log(
      `bench: in the isolate${tag}, ES256 sign: ${signRow.jwkMs.toFixed(3)} ms with the JWK imported per call, ${signRow.cryptoKeyMs.toFixed(3)} ms with a cached CryptoKey`,
    );
    return {
      routes: rows,
      login: logins,
      sign: signRow,
      bindingMs,
      bindingRuns: binding[i].length,
      requestsPerRun: count,
    };
  });
}
