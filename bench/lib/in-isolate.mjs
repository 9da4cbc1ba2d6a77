// The API's own CPU per request inside its isolate, with D1 answered from memory: the
// figure Cloudflare bills as the Worker's CPU, without local D1's SQLite (which shares the
// Worker's workerd process here) or wrangler dev's HTTP front. Uses the bench worker in
// bench/isolate/ (see its src/index.ts): one real request per route is recorded with its
// D1 answers, then replayed many times inside one request to that worker, alternating with
// the reference route run the same way, while this reads the worker process's CPU.
import { randomBytes } from "node:crypto";
import { mfaLoginRequest, passkeyLoginRequest, setupRequest as send } from "./second-factors.mjs";
import { cpuMs, waitUntilIdle } from "./servers.mjs";

/** The routes measured, in order, and how each answers when it works. */
export const ISOLATE_ROUTES = [
  { name: "me", label: "GET /me (Bearer)", path: "/me", expect: 200 },
  { name: "refresh", label: "POST /token/refresh", path: "/token/refresh", expect: 200 },
  { name: "login-mfa", label: "POST /login/mfa (TOTP code)", path: "/login/mfa", expect: 200 },
  { name: "login-passkey", label: "POST /login/passkey", path: "/login/passkey", expect: 200 },
];

/** Records one successful request per route on the bench worker at `url` (through `/api`). */
export async function recordRoutes(url, { password }) {
  const api = `${url}/api`;
  const email = `bench-isolate-${randomBytes(4).toString("hex")}@example.com`;
  const registered = await send(api, "POST", "/register", { firstName: "Bench", lastName: "Isolate", email, password });
  if (registered.status !== 201) throw new Error(`bench (isolate): register answered ${registered.status}`);
  const recorded = [
    await send(api, "GET", "/me", undefined, registered.body.token),
    await send(api, "POST", "/token/refresh", { refresh_token: registered.body.refresh_token }),
  ];
  // One request each from the second-factor loads, prepared as there (TOTP enrolled, a
  // passkey on a software authenticator, the password step or the options call done).
  for (const prepare of [mfaLoginRequest, passkeyLoginRequest]) {
    const load = await prepare(api, { users: 1, amount: 1, password });
    await load.refill();
    const { method, path, body } = load.setupRequest({ method: load.method, path: load.path });
    recorded.push(await send(api, method, path, body));
  }
  ISOLATE_ROUTES.forEach((route, i) => {
    if (recorded[i].status !== route.expect) {
      throw new Error(`bench (isolate): ${route.label} answered ${recorded[i].status} when recorded`);
    }
  });
}

/** Runs the recorded request to `path` (or `reference`, or `binding`) `count` times inside
 * the worker: its process's CPU per request in ms and the D1 round trips per request.
 * Throws unless every answer was `expect`. */
async function replay(url, processes, path, count, expect) {
  await waitUntilIdle(processes);
  const before = cpuMs(processes).worker;
  const res = await fetch(`${url}/replay?path=${encodeURIComponent(path)}&n=${count}`, {
    method: "POST",
    signal: AbortSignal.timeout(600_000),
  });
  const after = cpuMs(processes).worker;
  const body = await res.json();
  if (res.status !== 200 || body.statuses?.[expect] !== count || body.misses.length > 0) {
    throw new Error(`bench (isolate): replaying ${path} answered ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
  }
  return { ms: (after - before) / count, roundTrips: body.roundTrips };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * For each route: `rounds` pairs of (reference run, route run) of `count` requests each,
 * after an unmeasured warm-up of both; then `rounds` runs of `count` service-binding round
 * trips (the calibration of D1's client side). Returns `{ routes, bindingMs }`: per route
 * `{ name, label, roundTrips, ownMs, referenceMs, extraMs, extraRange, boundMs,
 * boundRange, pairs, requestsPerRun }`, where extra = route − reference per pair and
 * bound = extra + round trips × bindingMs (all ms per request, medians over the pairs);
 * `bindingMs` is the median CPU ms of one binding round trip.
 */
export async function isolateCpu(url, processes, { rounds, count }) {
  // JIT warm-up: a busy isolate runs optimized code, and the reference gets the same.
  const warm = Math.max(1000, Math.floor(count / 4));
  await replay(url, processes, "reference", warm, 200);
  const routes = [];
  for (const route of ISOLATE_ROUTES) {
    const { roundTrips } = await replay(url, processes, route.path, warm, route.expect);
    const pairs = [];
    for (let round = 0; round < rounds; round++) {
      const reference = (await replay(url, processes, "reference", count, 200)).ms;
      const own = (await replay(url, processes, route.path, count, route.expect)).ms;
      pairs.push({ reference, own });
    }
    const extras = pairs.map((p) => p.own - p.reference);
    routes.push({ name: route.name, label: route.label, roundTrips, pairs, extras });
  }
  // Last: thousands of subrequests leave this local isolate slower for a while (measured: the
  // second-factor routes took 0.3 ms more per request after them), so none come before a route.
  await replay(url, processes, "binding", warm, 200);
  const binding = [];
  for (let round = 0; round < rounds; round++) binding.push((await replay(url, processes, "binding", count, 200)).ms);
  const bindingMs = median(binding);
  console.log(`bench: in the isolate, a service-binding round trip: ${bindingMs.toFixed(3)} ms CPU`);
  return {
    routes: routes.map(({ name, label, roundTrips, pairs, extras }) => {
      const bounds = extras.map((extra) => extra + roundTrips * bindingMs);
      const row = {
        name,
        label,
        roundTrips,
        ownMs: median(pairs.map((p) => p.own)),
        referenceMs: median(pairs.map((p) => p.reference)),
        extraMs: median(extras),
        extraRange: [Math.min(...extras), Math.max(...extras)],
        boundMs: median(bounds),
        boundRange: [Math.min(...bounds), Math.max(...bounds)],
        pairs: pairs.length,
        requestsPerRun: count,
      };
      console.log(
        `bench: in the isolate, ${label}: ${row.ownMs.toFixed(3)} ms CPU/req, +${row.extraMs.toFixed(3)} ms over the reference, +${row.boundMs.toFixed(3)} ms with D1's client side`,
      );
      return row;
    }),
    bindingMs,
    bindingRuns: binding.length,
    requestsPerRun: count,
  };
}
