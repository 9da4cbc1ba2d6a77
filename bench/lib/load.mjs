// One load scenario: autocannon at fixed concurrency, for a fixed duration or a fixed number
// of requests, against a running `wrangler dev`, with the workerd CPU time read from /proc.
import autocannon from "autocannon";
import { cpuMs, waitUntilIdle } from "./servers.mjs";

/**
 * Runs `scenario` ({ name, target: { url, processes }, request, expect, warmRequests }) with
 * `connections` clients, either for `durationS` seconds or until `amount` requests are done.
 * CPU per request is the workerd CPU time from idle before the run to idle after it, divided
 * by the requests sent. It is exact (`cpuExact`) only for `amount` runs without failures, where
 * every request completes: when a timed run stops, workerd may or may not finish the requests
 * cut off.
 */
export async function runScenario(scenario, { connections, durationS, amount }) {
  const { target, request, expect } = scenario;
  for (let i = 0; i < (scenario.warmRequests ?? 5); i++) await warm(target.url, request);
  const idle = await waitUntilIdle(target.processes);

  let responses = 0;
  let unexpected = 0;
  let roundTrips = 0;
  let roundTripResponses = 0;
  const statuses = {};
  const firstUnexpected = [];
  const counted = {
    ...request,
    setupRequest: (req, context) => fromNextClient(request.setupRequest ? request.setupRequest(req, context) : req),
    onResponse: (status, body, context, headers) => {
      responses++;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== expect) {
        unexpected++;
        if (firstUnexpected.length < 3) firstUnexpected.push(`${status} ${String(body).slice(0, 200)}`);
      }
      const trips = header(headers, "x-d1-round-trips");
      if (trips !== undefined) {
        roundTrips += Number(trips);
        roundTripResponses++;
      }
      request.onResponse?.(status, body, context, headers);
    },
  };

  const before = cpuMs(target.processes);
  const result = await autocannon({
    url: target.url,
    connections,
    ...(amount ? { amount } : { duration: durationS }),
    // Generous: bcrypt routes at 64 connections queue for seconds by design; a timeout is an error.
    timeout: 30,
    requests: [counted],
  });
  const drained = await waitUntilIdle(target.processes);
  const after = cpuMs(target.processes);
  const handled = result.requests.sent;
  const perRequest = (role) => (handled > 0 ? (after[role] - before[role]) / handled : null);
  return {
    name: scenario.name,
    label: scenario.label,
    requests: responses,
    sent: handled,
    // A failed request may or may not have cost CPU: such a run cannot give an exact figure.
    cpuExact: Boolean(amount) && result.errors + result.timeouts + unexpected === 0,
    rps: result.requests.total / result.duration,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    statuses,
    errors: result.errors + result.timeouts + unexpected,
    errorSamples: firstUnexpected,
    cpuMs: { worker: perRequest("worker"), proxy: perRequest("proxy"), wrangler: perRequest("wrangler") },
    d1RoundTrips: roundTripResponses > 0 ? roundTrips / roundTripResponses : null,
    idle: { before: idle, after: drained },
  };
}

/** One request outside the measurement, so lazy initialisation and JIT warm-up are not measured. */
async function warm(url, request) {
  const built = fromNextClient(request.setupRequest ? request.setupRequest({ ...request }, {}) : request);
  const res = await fetch(`${url}${built.path}`, {
    method: built.method ?? "GET",
    headers: built.headers,
    body: built.body,
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.text();
  request.onResponse?.(res.status, body, {}, Object.fromEntries(res.headers));
}

let clients = 0;

/** Each request from another address of the benchmarking range (198.18.0.0/15): the API
 * rate-limits per CF-Connecting-IP, and the bench measures the work, not the limiter. */
export function fromNextClient(request) {
  const n = clients++ % 131072;
  const ip = `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  return { ...request, headers: { ...request.headers, "cf-connecting-ip": ip } };
}

function header(headers, name) {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}
