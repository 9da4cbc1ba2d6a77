// `npm run bench [-- --quick] [-- --connections N --duration S --rounds R]`, `--render`,
// `--bundle`, `--profile <row>`, `--against <git-ref>` (see README.md beside this file).
//
// Starts the API (`npm run dev`'s bootstrap: fresh local D1 in a temp dir, migrations
// applied) inside the bench worker (bench/worker/: the API's app with a D1 binding that
// counts round trips) and the reference worker in bench/reference/, each with `wrangler dev`
// on free loopback ports, loads one of them at a time with autocannon, and reports req/s,
// latency, errors, CPU ms per request of the workerd processes, D1 round trips per request
// and bundle sizes, every figure next to its baseline measured in this run. Then, on a third
// server (the bench worker again), the API app's own CPU in its isolate with D1 answered from
// memory (bench/lib/in-isolate.mjs), which the second-factor and login targets are judged on.
//
// Full run (64 connections, 30 s per scenario, then 4 paired CPU runs of a fixed number of
// requests per API scenario): writes bench/BENCHMARKS.md, bench/results.svg and bench/results.json.
// `--quick` (CI smoke, 1 to 3 minutes): 8 connections, one CPU run per scenario, written to
// test-artifacts/bench/ so the committed results stay as they are.
// `--connections`, `--duration` and `--rounds` override the defaults; `--render` rewrites the
// report and chart from the last results.json without running anything; `--bundle` measures
// the bundles alone (sizes and the per-package table, no load) into the last results.json
// and renders again; `--profile` and `--against` run the in-isolate part only (see below).
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, release, tmpdir, totalmem, type } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { breakdown, bundleSize, withoutPackage } from "./lib/bundle.mjs";
import { ISOLATE_ROUTES, isolateCpu, LOGIN_ROWS, recordRoutes, replay, routeQuery } from "./lib/in-isolate.mjs";
import { fromNextClient, runScenario } from "./lib/load.mjs";
import { profileMarkdown, profileReplays, readProfile } from "./lib/profile.mjs";
import { againstMarkdown, markdown, svg } from "./lib/report.mjs";
import { mfaLoginRequest, passkeyLoginRequest } from "./lib/second-factors.mjs";
import { cpuMs, startServer, workerdProcesses } from "./lib/servers.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    connections: { type: "string" },
    duration: { type: "string" },
    rounds: { type: "string" },
    render: { type: "boolean", default: false },
    bundle: { type: "boolean", default: false },
    profile: { type: "string" },
    against: { type: "string" },
  },
});
const quick = flags.quick;
const connections = boundedInt(flags.connections, quick ? 8 : 64, 1, 512, "--connections");
const durationS = boundedInt(flags.duration, 30, 1, 600, "--duration");
const COST = 10;
const PASSWORD = "correct horse battery staple";

/** Paired CPU runs per API scenario, so one noisy run cannot swing a CPU ratio. */
const CPU_ROUNDS = boundedInt(flags.rounds, quick ? 1 : 4, 1, 20, "--rounds");
/** Cheap routes get twice the pairs: a run takes two seconds, and their ratios are the noisiest. */
const cpuRounds = (scenario) => (scenario.slow || quick ? CPU_ROUNDS : CPU_ROUNDS * 2);
/** Requests per CPU run: every one completes, so CPU / requests is exact. bcrypt routes take
 * about 80 ms of CPU each on one thread: at 64 connections each waits seconds and wrangler's
 * proxy drops some, so their CPU runs use 8 connections (the baseline's too). */
const cpuRequests = (scenario) => scenario.amount ?? (scenario.slow ? (quick ? 8 : 64) : quick ? 400 : 3000);
/** Requests per CPU run of the second-factor logins: a few milliseconds each, so more than a
 * bcrypt route's, for a CPU figure finer than the 10 ms clock tick; each is prepared with a
 * bcrypt login, so fewer than a cheap route's. */
const FACTOR_REQUESTS = quick ? 16 : 192;
/** Requests per CPU run of POST /login at bcrypt cost 4 and its compare (about 1 ms each). */
const COST4_REQUESTS = quick ? 200 : 2000;
/** The bench worker's request header naming the variant a request runs under (bench/worker/). */
const VARIANT_HEADER = "x-bench-variant";
/** Requests per run of the in-isolate CPU measure (bench/lib/in-isolate.mjs): each is a
 * fraction of a millisecond and needs no preparing, so many, for a figure far finer than
 * the 10 ms clock tick. */
const ISOLATE_REQUESTS = quick ? 300 : 3000;
/** The same for the in-isolate rows with a bcrypt compare at cost 10 (about 80 ms each). */
const ISOLATE_BCRYPT_REQUESTS = quick ? 8 : 40;
const ISOLATE_OPTIONS = { rounds: CPU_ROUNDS, count: ISOLATE_REQUESTS, slowCount: ISOLATE_BCRYPT_REQUESTS };
// Pinned so a developer's .dev.vars cannot change what is measured. The keys are throwaways
// for this run only.
const VARS = [
  ...["--var", `TOKEN_KEY:${randomBytes(32).toString("hex")}`, "--var", `BCRYPT_COST:${COST}`],
  ...["--var", `MFA_ENCRYPTION_KEY:${randomBytes(32).toString("hex")}`],
  ...["--var", "WEBAUTHN_RP_ID:localhost", "--var", "WEBAUTHN_ORIGINS:http://localhost:5173"],
  ...["--var", "TOKEN_TTL:5h", "--var", "CORS_ORIGINS:*", "--var", "ALLOW_QUERY_TOKEN:false"],
  ...["--var", "ENVIRONMENT:dev", "--var", "MAIL_TRANSPORT:none"],
];
const ES256_KEYS = es256Keys();
const cpuConnections = (scenario) => (scenario.slow ? Math.min(connections, 8) : connections);
const outDir = quick ? join(root, "test-artifacts/bench") : root;
const files = quick
  ? { md: join(outDir, "BENCHMARKS.md"), svg: join(outDir, "results.svg"), json: join(outDir, "results.json") }
  : {
      md: join(root, "bench/BENCHMARKS.md"),
      svg: join(root, "bench/results.svg"),
      json: join(root, "bench/results.json"),
    };
const svgLink = "results.svg";

// Whatever happens, the run ends: worst case a few scenarios, their idle waits and startup.
const deadlineMs =
  flags.profile || flags.against
    ? 3_600_000
    : quick
      ? 240_000
      : 2 * 8 * (durationS + 15 + CPU_ROUNDS * 2 * 30) * 1000 + 300_000;
const running = [];
const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${deadlineMs / 1000} s`);
  stopAll();
  process.exit(1);
}, deadlineMs);
watchdog.unref();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopAll();
    process.exit(130);
  });
}

try {
  if (flags.render) render();
  else if (flags.bundle) await bundleOnly();
  else if (flags.profile) await profileMain(flags.profile);
  else if (flags.against) await againstMain(flags.against);
  else await main();
} catch (err) {
  console.error(`bench failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  stopAll();
  clearTimeout(watchdog);
}

async function main() {
  const started = Date.now();
  const loadBefore = loadavg()[0];
  console.log(
    quick
      ? `bench: quick run, ${connections} connections, CPU runs only`
      : `bench: full run, ${connections} connections, ${durationS} s per scenario, ${cpuRounds({})} CPU rounds (bcrypt routes ${cpuRounds({ slow: true })})`,
  );

  const vars = VARS;
  const apiOptions = {
    name: "api",
    cwd: root,
    script: join(root, "scripts/dev.mjs"),
    // The API app inside the bench worker (bench/worker/), which counts its D1 round trips
    // on the binding and reports them in X-D1-Round-Trips.
    args: ["-c", benchConfig({ name: "bench-api" }), ...vars],
    readyPath: "/health",
  };
  const referenceOptions = {
    name: "reference",
    cwd: root,
    script: wrangler,
    args: ["dev", "-c", "bench/reference/wrangler.toml"],
    readyPath: "/",
  };
  const servers = await Promise.allSettled([startServer(apiOptions), startServer(referenceOptions)]);
  for (const server of servers) if (server.status === "fulfilled") running.push(server.value);
  const failed = servers.find((server) => server.status === "rejected");
  if (failed) throw failed.reason;
  const [api, reference] = servers.map((server) => server.value);
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  console.log(`bench: servers up after ${elapsed()}`);
  // Before any load, so the builds do not compete with what is measured.
  const bundle = await measureBundles();
  console.log(`bench: bundles measured after ${elapsed()}: worker ${bundle.worker.gzipKiB} KiB gzip`);

  const targetOf = (server, options) => ({
    server,
    options,
    url: server.url,
    processes: workerdProcesses(server.pid, server.port),
  });
  const apiTarget = targetOf(api, apiOptions);
  const refTarget = targetOf(reference, referenceOptions);
  const skipped = [];
  const notes = [];
  /** Brings a server that died back up on the same local database (at most 3 times in a run). */
  let restarts = 0;
  const ensureUp = async (t) => {
    if (t.server.alive()) return;
    if (++restarts > 3) throw new Error(`${t.options.name} server died again:\n${t.server.log().slice(-2000)}`);
    const how = t.server.exitStatus();
    console.log(`bench: the ${t.options.name} server exited (${how}); restarting it on the same local database`);
    console.log(`bench: its last output:\n${t.server.log().slice(-1500)}`);
    notes.push(
      `The ${t.options.name} server's wrangler process exited during the benchmark (${how}) and was restarted on the same local database; the run it was under was repeated.`,
    );
    const server = await startServer({ ...t.options, persistDir: t.server.dir });
    running.push(server);
    Object.assign(t, targetOf(server, t.options));
  };

  const users = await prepareUsers(api.url);
  // Accounts hashed at cost 4, logged in at cost 4 (the bench worker's `cost4` variant): POST
  // /login's work beyond its bcrypt compare shows finely in the whole process too.
  const cost4Users = await prepareUsers(api.url, { variant: "cost4", count: 16 });
  const me = await probe(api.url, "/me", { headers: { authorization: `Bearer ${users.accounts[0].token}` } });
  const refresh = await probe(api.url, "/token/refresh", jsonPost({}));
  console.log(`bench: ${users.accounts.length} users registered after ${elapsed()}`);
  // Second factors: each request spends a single-use mfa_token or challenge, prepared
  // before each run (see bench/lib/second-factors.mjs). CPU rows only: a timed run
  // would need an unbounded supply.
  const factorOptions = { amount: FACTOR_REQUESTS, password: PASSWORD };
  const mfaLogin = await mfaLoginRequest(api.url, { ...factorOptions, users: FACTOR_REQUESTS });
  const passkeyLogin = await passkeyLoginRequest(api.url, { ...factorOptions, users: FACTOR_REQUESTS });
  console.log(`bench: TOTP and passkey users enrolled after ${elapsed()}`);

  const apiScenarios = [
    {
      name: "welcome",
      label: "GET /welcome (Bearer)",
      request: { method: "GET", path: "/welcome", headers: { authorization: `Bearer ${users.accounts[0].token}` } },
      expect: 200,
      baseline: "reference",
      target: 1.3,
    },
    me.present
      ? {
          name: "me",
          label: "GET /me (Bearer)",
          request: { method: "GET", path: "/me", headers: { authorization: `Bearer ${users.accounts[0].token}` } },
          expect: 200,
          baseline: "reference",
        }
      : skip("GET /me: the route does not exist in this build (probe answered 404)"),
    {
      name: "login",
      label: "POST /login",
      request: loginRequest(users.accounts),
      expect: 200,
      baseline: "bcrypt-compare",
      target: 1.1,
      slow: true,
    },
    {
      name: "login-cost4",
      label: "POST /login at bcrypt cost 4 (X-Bench-Variant: cost4)",
      request: loginRequest(cost4Users.accounts, { [VARIANT_HEADER]: "cost4" }),
      expect: 200,
      baseline: "bcrypt-compare-cost4",
      amount: COST4_REQUESTS,
      cpuOnly: true,
    },
    {
      name: "register",
      label: "POST /register (unique emails)",
      request: registerRequest(users.runId),
      expect: 201,
      baseline: "bcrypt-hash",
      target: 1.1,
      slow: true,
    },
    refresh.present && users.accounts.every((a) => a.refreshToken)
      ? {
          name: "refresh",
          label: "POST /token/refresh",
          request: refreshRequest(api.url, users.accounts),
          expect: 200,
          baseline: "reference",
          // Each token is single-use (rotation): warming up would spend the pool.
          warmRequests: 0,
        }
      : skip(
          refresh.present
            ? "POST /token/refresh: the route exists, but register returned no `refresh_token` to rotate"
            : "POST /token/refresh: the route does not exist in this build (probe answered 404)",
        ),
    {
      name: "login-mfa",
      label: "POST /login/mfa (TOTP code)",
      request: mfaLogin,
      expect: 200,
      baseline: "reference",
      slow: true,
      amount: FACTOR_REQUESTS,
      cpuOnly: true,
      warmRequests: 0,
    },
    {
      name: "login-passkey",
      label: "POST /login/passkey",
      request: passkeyLogin,
      expect: 200,
      baseline: "reference",
      slow: true,
      amount: FACTOR_REQUESTS,
      cpuOnly: true,
      warmRequests: 0,
    },
    {
      name: "preflight",
      label: "OPTIONS /login (CORS preflight)",
      request: {
        method: "OPTIONS",
        path: "/login",
        headers: {
          origin: "http://localhost:5173",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      },
      expect: 204,
      baseline: "reference",
    },
    {
      name: "not-found",
      label: "GET /no-such-route (404)",
      request: { method: "GET", path: "/no-such-route" },
      expect: 404,
      baseline: "reference",
    },
  ].filter(Boolean);

  const referenceScenarios = [
    { name: "reference", label: "Reference: GET / (Hono, JSON)", request: { method: "GET", path: "/" }, expect: 200 },
    {
      name: "bcrypt-compare",
      label: `Reference: bcrypt compare, cost ${COST}`,
      request: { method: "GET", path: `/bcrypt/compare?cost=${COST}` },
      expect: 200,
      slow: true,
    },
    {
      name: "bcrypt-compare-cost4",
      label: "Reference: bcrypt compare, cost 4",
      request: { method: "GET", path: "/bcrypt/compare?cost=4" },
      expect: 200,
      amount: COST4_REQUESTS,
    },
    {
      name: "bcrypt-hash",
      label: `Reference: bcrypt hash, cost ${COST}`,
      request: { method: "GET", path: `/bcrypt/hash?cost=${COST}` },
      expect: 200,
      slow: true,
    },
  ];

  // Unmeasured: the load generator's own JIT warm-up would otherwise slow the first scenario.
  await autocannon({ url: reference.url, connections, duration: quick ? 1 : 5 });

  const runs = [];
  const idleCpu = { api: { ms: 0, seconds: 0 }, reference: { ms: 0, seconds: 0 } };
  /** One autocannon run, logged, with the idle server's CPU over it accounted. */
  const measure = async (scenario, target, round) => {
    const timed = round === 0;
    process.stdout.write(`bench: ${scenario.label}${timed ? ` (${durationS} s)` : ` (CPU run ${round})`} ... `);
    const [busy, idle] = target === apiTarget ? ["api", "reference"] : ["reference", "api"];
    const other = target === apiTarget ? refTarget : apiTarget;
    const otherBefore = cpuMs(other.processes);
    const runStart = Date.now();
    const load = timed
      ? { connections, durationS }
      : { connections: cpuConnections(scenario), amount: cpuRequests(scenario) };
    // A run during which the server died measured nothing: bring it back and run again, once.
    const attempt = async () => {
      await ensureUp(target);
      // Spare tokens: a request the dev proxy fails (see the notes) takes its token with it.
      await scenario.request.refill?.(load.connections + 32);
      try {
        const result = await runScenario({ ...scenario, target }, load);
        return target.server.alive() ? result : undefined;
      } catch (err) {
        if (target.server.alive()) throw err;
        return undefined;
      }
    };
    const result = (await attempt()) ?? (await attempt());
    if (!result) throw new Error(`${scenario.label}: the ${target.options.name} server died twice in a row`);
    const otherAfter = cpuMs(other.processes);
    idleCpu[idle].ms += otherAfter.worker + otherAfter.proxy - otherBefore.worker - otherBefore.proxy;
    idleCpu[idle].seconds += (Date.now() - runStart) / 1000;
    console.log(
      `${result.rps.toFixed(0)} req/s, p99 ${result.latencyP99} ms, ${result.errors} errors` +
        (result.cpuExact ? `, ${result.cpuMs.worker?.toFixed(3)} ms CPU/req` : "") +
        (result.d1RoundTrips === null ? "" : `, ${result.d1RoundTrips.toFixed(2)} D1 round trips/req`),
    );
    const run = { ...result, server: busy, round, expect: scenario.expect };
    runs.push(run);
    return run;
  };

  // Full runs: each API scenario runs for `durationS` (req/s, latency, errors, D1 round trips)
  // and then CPU_ROUNDS times for a fixed number of requests (CPU). CPU time per request drifts
  // with whatever else this host does, so every API run comes right after a run of its
  // baseline, and the ratio is the median over these pairs. Quick runs: one CPU run each, the
  // baselines first.
  const quickBaselines = {};
  if (quick) for (const s of referenceScenarios) quickBaselines[s.name] = await measure(s, refTarget, 1);
  const results = [];
  for (const scenario of apiScenarios) {
    const baseScenario = referenceScenarios.find((s) => s.name === scenario.baseline);
    const pairs = [];
    for (let round = quick || scenario.cpuOnly ? 1 : 0; round <= cpuRounds(scenario); round++) {
      const base = quick ? quickBaselines[baseScenario.name] : await measure(baseScenario, refTarget, round);
      const run = await measure(scenario, apiTarget, round);
      pairs.push({ base, run });
    }
    results.push(pairResult(scenario, pairs));
  }
  // Baselines as the median of their runs.
  for (const s of referenceScenarios) {
    const summary = summarize(runs.filter((r) => r.name === s.name));
    if (summary) results.push(summary);
  }
  // Full runs: a control for errors under load. The reference worker's bcrypt compare between
  // two `select 1` queries on its own local D1 (no API code), at the load login gets. POST, as
  // login is: wrangler dev's proxy silently retries a GET whose forward failed.
  if (!quick) {
    const control = {
      name: "control-d1",
      label: `Control: bcrypt compare between two local D1 queries, cost ${COST} (reference worker)`,
      request: { method: "POST", path: `/bcrypt/compare?cost=${COST}&d1=1` },
      expect: 200,
      slow: true,
    };
    results.push({ ...(await measure(control, refTarget, 0)), control: true });
  }

  // The API's own CPU in its isolate, D1 answered from memory (bench/lib/in-isolate.mjs),
  // on a third server started now, so it never ran beside the load above.
  const isolate = await startIsolate();
  await recordRoutes(isolate.url, { password: PASSWORD });
  const [inIsolate] = await isolateCpu([isolate], ISOLATE_OPTIONS);
  isolate.stop();
  console.log(`bench: in-isolate CPU measured after ${elapsed()}`);

  notes.push(
    `Both servers run for the whole benchmark, but only one is under load at a time: the idle API used ${idleCpu.api.ms.toFixed(0)} ms of CPU in the ${idleCpu.api.seconds.toFixed(0)} s of reference runs, the idle reference ${idleCpu.reference.ms.toFixed(0)} ms in the ${idleCpu.reference.seconds.toFixed(0)} s of API runs.`,
    quick
      ? "Each baseline was measured once, before the API scenarios."
      : `Each API scenario ran for ${durationS} s (req/s, latency, errors, D1 round trips: the first columns) and then ${cpuRounds({})} times (bcrypt routes ${cpuRounds({ slow: true })}) for a fixed number of requests (CPU), every run right after a run of its baseline. CPU ms/req is the median over the CPU runs, the ratio the median over the pairs (range in brackets). Baseline rows show medians of their runs.`,
    "The API runs inside the bench worker (bench/worker/), which hands the app a D1 binding that counts round trips and adds `X-D1-Round-Trips` to each answer; nothing in src/ knows about the bench. The wrapper costs a few µs per request (an AsyncLocalStorage scope, a counter, one header).",
    "Every `wrangler dev` here runs without its DevTools inspector attached (`VSCODE_INSPECTOR_OPTIONS` set, see bench/lib/servers.mjs): attached, it reports every subrequest, and a local D1 call cost about twice the worker process's CPU and as much again in wrangler's proxy process.",
    "The API runs from wrangler.toml without its `[assets]` block (Swagger UI for `/docs`, which no scenario loads). Locally wrangler dev runs the static-assets router inside the worker's own process, in front of the Worker on every request, and it would count as the API's CPU (about 0.2 ms per request on this machine, measured separately); on Cloudflare that router belongs to the platform and is not billed as the Worker's CPU.",
    'Local D1 is SQLite inside the worker\'s workerd process, so its query CPU is included in the worker figures; on Cloudflare it runs elsewhere and is not billed as Worker CPU. The tables "POST /login beyond its bcrypt compare" and "CPU in the Worker\'s isolate" take it out. Absolute milliseconds also include miniflare\'s entry worker, which is why the ratio for cheap routes is also shown as extra milliseconds over the reference.',
    `bcrypt runs in JavaScript (bcryptjs) on the Worker's single thread, so with ${connections} connections login and register queue behind each other: their latency is about connections × CPU per request, by design.`,
  );
  const failedCpuRuns = runs.filter((r) => r.round > 0 && !r.cpuExact);
  if (failedCpuRuns.length > 0) {
    notes.push(
      `${failedCpuRuns.length} CPU runs had failed requests and were left out of the CPU figures (details in bench/results.json).`,
    );
  }
  if (quick) {
    notes.push(
      `Quick run: one CPU run per scenario (${cpuRequests({})} requests, ${cpuRequests({ slow: true })} for bcrypt routes) and no timed runs; indicative only.`,
    );
  }

  const run = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: commitId(),
    settings: {
      quick,
      connections,
      durationS: quick ? null : durationS,
      cpuRounds: { fast: cpuRounds({}), bcrypt: cpuRounds({ slow: true }) },
      cpuRequests: { fast: cpuRequests({}), bcrypt: cpuRequests({ slow: true }) },
      cpuConnections: { fast: cpuConnections({}), bcrypt: cpuConnections({ slow: true }) },
      cost: COST,
    },
    machine: { ...machine(), loadAverage: { start: loadBefore, end: loadavg()[0] } },
    versions: versions(),
    scenarios: results,
    inIsolate,
    runs,
    bundle,
    skipped,
    notes,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(files.json, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(files.svg, svg(run));
  writeFileSync(files.md, markdown(run, { svgPath: svgLink, importRun: importRun() }));
  console.log(`bench: wrote ${[files.md, files.svg, files.json].map((f) => f.replace(root, "")).join(", ")}`);
  console.log(`bench: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // A scenario that never got the answer it expects measured nothing meaningful.
  const broken = runs.filter((r) => (r.statuses[r.expect] ?? 0) === 0);
  if (broken.length > 0) throw new Error(`no expected answers measured in: ${broken.map((r) => r.name).join(", ")}`);

  function skip(reason) {
    skipped.push(reason);
    return undefined;
  }
}

/**
 * The bench worker's wrangler config for `<tree>`'s API, written to
 * `<tree>/.wrangler/<name>.wrangler.toml` with its entry `<name>.entry.ts` beside it: the
 * entry imports the app from the module wrangler.toml's `main` names (its `app` export) and
 * wraps it in the bench worker of this checkout (bench/worker/src/index.ts). The config is
 * `<tree>`'s wrangler.toml (the API's bindings and settings) with that `main`, `name`
 * replaced, without its `[assets]` block, plus, with `selfBinding`, a service binding
 * `SELF` to itself. Returns its path. `tree` is this checkout, or with `--against` the
 * other build's worktree.
 * Locally, wrangler dev runs the static-assets router inside the worker's own workerd
 * process, in front of the Worker on every request (about 0.2 ms of CPU each here), so the
 * process's CPU would count it as the API's. On Cloudflare that router is the platform's,
 * not billed as the Worker's CPU, and with `run_worker_first` the Worker is called first
 * anyway. Only `/docs` needs the assets, and no scenario loads it.
 */
function benchConfig({ tree = root, name, selfBinding = false }) {
  const source = readFileSync(join(tree, "wrangler.toml"), "utf8");
  const main = /^main = "([^"]+)"/m.exec(source)?.[1];
  const dir = join(tree, ".wrangler");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.entry.ts`),
    [
      `// Written by bench/run.mjs: the bench worker around the API app of ${tree}.`,
      `import * as api from ${JSON.stringify(join(tree, main ?? "src/index.ts"))};`,
      `import { benchWorker } from ${JSON.stringify(join(root, "bench/worker/src/index.ts"))};`,
      "",
      "export default benchWorker(api.app);",
      "",
    ].join("\n"),
  );
  let trimmed = source
    .replace(/^\[assets\]\n(?:(?!\[).*\n)*/m, "")
    .replace(/^main = ".*"/m, `main = "${name}.entry.ts"`)
    .replace(/^migrations_dir = "migrations"/m, 'migrations_dir = "../migrations"')
    .replace(/^name = ".*"/m, `name = "${name}"`);
  if (selfBinding) trimmed += `\n[[services]]\nbinding = "SELF"\nservice = "${name}"\n`;
  if (!main || trimmed.includes("[assets]") || !trimmed.includes('"../migrations"')) {
    throw new Error(`bench: could not derive the bench worker's config from ${join(tree, "wrangler.toml")}`);
  }
  const path = join(dir, `${name}.wrangler.toml`);
  writeFileSync(path, trimmed);
  return path;
}

/**
 * `--profile <row>`: where one in-isolate row's CPU goes (bench/lib/profile.mjs). `<row>` is
 * a name of ISOLATE_ROUTES (against the reference route) or LOGIN_ROWS (against one bcrypt
 * compare at its cost), e.g. `login-cost4`. Writes test-artifacts/bench/profile/.
 */
async function profileMain(name) {
  const route = [...ISOLATE_ROUTES, ...LOGIN_ROWS].find((r) => r.name === name);
  if (!route) {
    const names = [...ISOLATE_ROUTES, ...LOGIN_ROWS].map((r) => r.name).join(", ");
    throw new Error(`--profile takes one of: ${names}`);
  }
  const runWhat = routeQuery(route);
  const baseWhat = route.cost ? { what: "bcrypt", cost: String(route.cost) } : { what: "reference" };
  const baseLabel = route.cost ? `one bcrypt compare at cost ${route.cost}` : "the reference route";
  // Enough requests for a few seconds of samples each. With the inspector attached every
  // local D1 call is reported through it, which makes the real-D1 row far slower to profile.
  const count = route.cost >= 10 ? 100 : route.d1 === "local" ? 300 : 5000;
  const intervalUs = 500;
  const isolate = await startIsolate({ name: "bench-profile", devtools: true });
  await recordRoutes(isolate.url, { password: PASSWORD });
  // CPU per request without the profiler, which the profile's shares are scaled by: medians
  // of three alternating runs each, after a warm-up.
  await replay(isolate, baseWhat, Math.ceil(count / 4));
  await replay(isolate, runWhat, Math.ceil(count / 4));
  const cpu = { run: [], base: [] };
  for (let round = 0; round < 3; round++) {
    cpu.base.push((await replay(isolate, baseWhat, count)).ms);
    cpu.run.push((await replay(isolate, runWhat, count)).ms);
  }
  const middle = (values) => [...values].sort((a, b) => a - b)[1];
  console.log(
    `bench: ${route.label}: ${middle(cpu.run).toFixed(3)} ms CPU/req, ${baseLabel}: ${middle(cpu.base).toFixed(3)} ms (no profiler)`,
  );
  const { profiles, source } = await profileReplays({
    url: isolate.url,
    inspectorPort: isolate.inspector,
    runs: [
      { name: "run", what: runWhat },
      { name: "base", what: baseWhat },
    ],
    count,
    warm: Math.ceil(count / 10),
    intervalUs,
  });
  isolate.stop();
  const dir = join(root, "test-artifacts/bench/profile");
  mkdirSync(dir, { recursive: true });
  const files = [`${name}.cpuprofile`, `${name}-baseline.cpuprofile`];
  writeFileSync(join(dir, files[0]), JSON.stringify(profiles.run));
  writeFileSync(join(dir, files[1]), JSON.stringify(profiles.base));
  // With the real local D1 most of the process's CPU is SQLite and the D1 simulator, outside
  // the isolate the profiler samples: that profile is not scaled to the process's CPU.
  const scaled = route.d1 !== "local";
  const report = profileMarkdown({
    label: route.label,
    baseLabel,
    count,
    intervalUs,
    run: readProfile(profiles.run, source, count, scaled ? middle(cpu.run) : undefined),
    base: readProfile(profiles.base, source, count, scaled ? middle(cpu.base) : undefined),
    files: files.map((f) => `test-artifacts/bench/profile/${f}`),
  });
  writeFileSync(join(dir, `${name}.md`), report);
  console.log(report);
  console.log(`bench: wrote test-artifacts/bench/profile/${name}.md and the two profiles`);
}

/**
 * `--against <git-ref>`: the in-isolate CPU rows (bench/lib/in-isolate.mjs) of this checkout
 * and of `<ref>`, measured in one run, interleaved so the machine's drift touches both alike,
 * side by side in test-artifacts/bench/against.md. `<ref>` is built from a copy of its tree
 * (`git archive`, into a temp dir: no worktree is registered in the shared repository), with
 * this checkout's node_modules when its package-lock.json is the same (else `npm ci` there),
 * and run in this checkout's bench worker, so both sides are measured by the same code.
 */
async function againstMain(ref) {
  const started = Date.now();
  const git = (...args) => execFileSync("git", args, { cwd: root, maxBuffer: 256 * 1024 * 1024 });
  const sha = git("rev-parse", "--verify", `${ref}^{commit}`).toString().trim();
  const tree = mkdtempSync(join(tmpdir(), "bench-against-"));
  try {
    execFileSync("tar", ["-x", "-C", tree], {
      input: git("archive", "--format=tar", sha),
      stdio: ["pipe", "ignore", "pipe"],
    });
    const lock = (dir) => readFileSync(join(dir, "package-lock.json"), "utf8");
    if (lock(tree) === lock(root)) {
      symlinkSync(join(root, "node_modules"), join(tree, "node_modules"), "dir");
    } else {
      console.log(`bench: ${ref}'s package-lock.json differs from this checkout's: npm ci in its copy`);
      execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: tree, stdio: "inherit" });
    }
    const labels = [`this checkout (${commitId()})`, `${ref} (${sha.slice(0, 7)})`];
    console.log(`bench: in-isolate CPU of ${labels[0]} against ${labels[1]}`);
    const ours = await startIsolate({ name: "bench-isolate" });
    const theirs = await startIsolate({ tree, name: "bench-against" });
    await recordRoutes(ours.url, { password: PASSWORD });
    await recordRoutes(theirs.url, { password: PASSWORD });
    const results = await isolateCpu(
      [
        { ...ours, name: "this checkout" },
        { ...theirs, name: ref },
      ],
      { ...ISOLATE_OPTIONS, skipExpiring: true },
    );
    ours.stop();
    theirs.stop();
    const run = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      settings: { quick, rounds: CPU_ROUNDS, ...ISOLATE_OPTIONS, cost: COST },
      machine: { ...machine(), loadAverage: loadavg()[0] },
      sides: results.map((result, i) => ({ label: labels[i], ...result })),
    };
    const dir = join(root, "test-artifacts/bench");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "against.json"), `${JSON.stringify(run, null, 2)}\n`);
    const report = againstMarkdown(run);
    writeFileSync(join(dir, "against.md"), report);
    console.log(report);
    console.log(
      `bench: wrote test-artifacts/bench/against.md and against.json in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

/** The last `npm run bench:import` measurement (bench/import.json), if any. */
function importRun() {
  try {
    return JSON.parse(readFileSync(join(root, "bench/import.json"), "utf8"));
  } catch {
    return undefined;
  }
}

/** `--render`: BENCHMARKS.md and the chart again from the last run's results.json, no load. */
function render() {
  const run = JSON.parse(readFileSync(files.json, "utf8"));
  writeFileSync(files.svg, svg(run));
  writeFileSync(files.md, markdown(run, { svgPath: svgLink, importRun: importRun() }));
  console.log(
    `bench: rendered ${[files.md, files.svg].map((f) => f.replace(root, "")).join(", ")} from ${files.json.replace(root, "")}`,
  );
}

/** `--bundle`: the bundle figures of the last run's results.json measured again, then `render`. */
async function bundleOnly() {
  const run = JSON.parse(readFileSync(files.json, "utf8"));
  run.bundle = await measureBundles();
  writeFileSync(files.json, `${JSON.stringify(run, null, 2)}\n`);
  render();
}

async function measureBundles() {
  const [worker, reference] = await Promise.all([
    bundleSize({ root, wrangler, config: "wrangler.toml", metafile: true }),
    bundleSize({ root, wrangler, config: "bench/reference/wrangler.toml", entry: "bench/reference/src/app.ts" }),
  ]);
  const packages = breakdown(worker.metafile);
  // Rebuilding without each package takes a few seconds apiece: full runs only.
  if (!quick) {
    for (const pkg of packages) {
      if (pkg.specifiers.length === 0) continue;
      const without = await withoutPackage({ root, wrangler, config: "wrangler.toml", specifiers: pkg.specifiers });
      pkg.gzipSavedKiB = worker.gzipKiB - without.gzipKiB;
    }
  }
  return {
    worker: { rawKiB: worker.rawKiB, gzipKiB: worker.gzipKiB },
    reference: { rawKiB: reference.rawKiB, gzipKiB: reference.gzipKiB },
    packages,
  };
}

/** Registers the accounts the load uses: enough to spread logins, and one refresh token per
 * connection; with `variant`, under that variant of the bench worker (`X-Bench-Variant`). */
async function prepareUsers(url, { variant, count = Math.min(connections + 8, 200) } = {}) {
  const runId = randomBytes(4).toString("hex");
  const register = async (i) => {
    const user = {
      firstName: "Bench",
      lastName: "User",
      email: `bench-${runId}-u${i}@example.com`,
      password: PASSWORD,
    };
    const init = jsonPost(user);
    if (variant) init.headers[VARIANT_HEADER] = variant;
    const res = await fetch(`${url}/register`, { ...init, signal: AbortSignal.timeout(60_000) });
    const body = await res.json();
    if (res.status !== 201) throw new Error(`preparing users: register answered ${res.status} ${JSON.stringify(body)}`);
    return { email: user.email, token: body.token, refreshToken: body.refresh_token };
  };
  const accounts = [];
  for (let i = 0; i < count; i += 8) {
    const batch = Array.from({ length: Math.min(8, count - i) }, (_, j) => register(i + j));
    accounts.push(...(await Promise.all(batch)));
  }
  return { runId, accounts };
}

function loginRequest(accounts, headers = {}) {
  let next = 0;
  return {
    method: "POST",
    path: "/login",
    headers: { "content-type": "application/json", ...headers },
    setupRequest: (req) => {
      const account = accounts[next++ % accounts.length];
      return { ...req, body: JSON.stringify({ email: account.email, password: PASSWORD }) };
    },
  };
}

function registerRequest(runId) {
  let next = 0;
  return {
    method: "POST",
    path: "/register",
    headers: { "content-type": "application/json" },
    setupRequest: (req) => ({
      ...req,
      body: JSON.stringify({
        firstName: "Load",
        lastName: "Test",
        email: `bench-${runId}-r${next++}@example.com`,
        password: PASSWORD,
      }),
    }),
  };
}

/**
 * Refresh tokens rotate: each is used once, and the answer's new token goes back in the pool,
 * so every token is in exactly one place (the pool, or one request in flight). A timed run
 * that stops cuts off the requests in flight, and their new tokens never come back: before
 * each run `refill` logs accounts in again until the pool has a token for every connection
 * and then some. (An empty pool would send a bogus token and count a 401, never reuse one.)
 */
function refreshRequest(url, accounts) {
  const pool = accounts.map((a) => a.refreshToken).filter(Boolean);
  let next = 0;
  return {
    method: "POST",
    path: "/token/refresh",
    headers: { "content-type": "application/json" },
    setupRequest: (req) => ({ ...req, body: JSON.stringify({ refresh_token: pool.shift() ?? "pool-exhausted" }) }),
    onResponse: (status, body) => {
      if (status !== 200) return;
      try {
        const token = JSON.parse(body).refresh_token;
        if (typeof token === "string") pool.push(token);
      } catch {
        // counted as a success by status; a body without a token only shrinks the pool
      }
    },
    refill: async (want) => {
      while (pool.length < want) {
        const batch = Array.from({ length: Math.min(8, want - pool.length) }, () => {
          const account = accounts[next++ % accounts.length];
          return logIn(url, account.email);
        });
        pool.push(...(await Promise.all(batch)));
      }
    },
  };
}

async function logIn(url, email) {
  const res = await fetch(`${url}/login`, {
    ...jsonPost({ email, password: PASSWORD }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`refilling refresh tokens: login answered ${res.status}`);
  return body.refresh_token;
}

/** Whether `path` is served: anything but the API's 404 `not_found` means it is. */
async function probe(url, path, init = {}) {
  const res = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
  const body = await res.text();
  return { present: res.status !== 404, status: res.status, body };
}

function jsonPost(body) {
  return fromNextClient({
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/**
 * The bench worker for the in-isolate measure (`tree`'s API, see benchConfig), with a service
 * binding to itself (the binding calibration) and a throwaway ES256 key (the ES256 rows), on
 * a fresh migrated local D1 of its own; with `devtools`, its inspector attached (profiles
 * only). Returns `{ name, url, inspector, processes, stop() }`.
 */
async function startIsolate({ tree = root, name = "bench-isolate", devtools = false } = {}) {
  const config = benchConfig({ tree, name, selfBinding: true });
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  try {
    execFileSync(
      process.execPath,
      [wrangler, "d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", dir],
      {
        cwd: tree,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
      },
    );
    const server = await startServer({
      name,
      cwd: tree,
      script: wrangler,
      args: ["dev", "-c", config, ...VARS, "--var", `BENCH_ES256_KEYS:${ES256_KEYS}`],
      readyPath: "/__bench/ready",
      persistDir: dir,
      devtools,
    });
    running.push(server);
    return {
      name,
      url: server.url,
      inspector: server.inspector,
      processes: workerdProcesses(server.pid, server.port),
      stop: () => {
        server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A throwaway ES256 private JWK array for this run (`npm run keys:generate`'s format). */
function es256Keys() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return JSON.stringify([{ ...privateKey.export({ format: "jwk" }), kid: "bench", alg: "ES256", use: "sig" }]);
}

function stopAll() {
  while (running.length > 0) running.pop().stop();
}

/** An API scenario's row: load figures from its first run, CPU as medians over its exact (fixed-count) pairs. */
function pairResult(scenario, pairs) {
  const main = pairs[0].run;
  const exact = pairs.filter((p) => p.run.cpuExact && p.base.cpuExact);
  const ratios = exact.map((p) => ratioOf(p.run.cpuMs.worker, p.base.cpuMs.worker)).filter((r) => r !== null);
  const cpu = (role, list) => median(list.map((r) => r.cpuMs[role]));
  const runsOf = exact.map((p) => p.run);
  const basesOf = exact.map((p) => p.base);
  return {
    ...main,
    cpuMs: { worker: cpu("worker", runsOf), proxy: cpu("proxy", runsOf), wrangler: cpu("wrangler", runsOf) },
    cpuRuns: runsOf.length,
    baseline: {
      label: pairs[0].base.label,
      cpuMs: cpu("worker", basesOf),
      cpuRatio: median(ratios),
      cpuRatioRange: [Math.min(...ratios), Math.max(...ratios)],
      cpuExtraMs: median(exact.map((p) => p.run.cpuMs.worker - p.base.cpuMs.worker)),
      pairs: ratios.length,
      target: scenario.target,
    },
  };
}

function median(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One row for a baseline measured several times: load figures (median) from its timed runs,
 * CPU (median) from its fixed-count runs. */
function summarize(list) {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  const timed = list.filter((r) => r.round === 0);
  const full = timed.length > 0 ? timed : list;
  const exact = list.filter((r) => r.cpuExact);
  const statuses = {};
  for (const run of full)
    for (const [code, n] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  return {
    ...full[0],
    label: `${full[0].label} (median of ${list.length} runs)`,
    requests: full.reduce((sum, r) => sum + r.requests, 0),
    rps: median(full.map((r) => r.rps)),
    latencyP50: median(full.map((r) => r.latencyP50)),
    latencyP99: median(full.map((r) => r.latencyP99)),
    statuses,
    errors: full.reduce((sum, r) => sum + r.errors, 0),
    errorSamples: full.flatMap((r) => r.errorSamples).slice(0, 3),
    cpuMs: {
      worker: median(exact.map((r) => r.cpuMs.worker)),
      proxy: median(exact.map((r) => r.cpuMs.proxy)),
      wrangler: median(exact.map((r) => r.cpuMs.wrangler)),
    },
    cpuRuns: exact.length,
  };
}

function ratioOf(value, base) {
  return value === null || base === null || base === 0 ? null : value / base;
}

function boundedInt(value, fallback, min, max, name) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

function commitId() {
  try {
    const id = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "bench/reference", "package-lock.json"], {
      cwd: root,
    })
      .toString()
      .trim();
    return dirty ? `${id}+uncommitted changes` : id;
  } catch {
    return "unknown";
  }
}

function machine() {
  const cpu = cpus()[0]?.model?.trim() ?? "unknown CPU";
  return {
    cpu,
    cores: cpus().length,
    memoryGiB: (totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGiB: (freemem() / 2 ** 30).toFixed(1),
    os: `${type()} ${release()}`,
  };
}

function versions() {
  const version = (path) => {
    try {
      return JSON.parse(readFileSync(join(root, "node_modules", path, "package.json"), "utf8")).version;
    } catch {
      return "unknown";
    }
  };
  let workerd = "unknown";
  try {
    workerd = execFileSync(process.execPath, ["-e", "console.log(require('workerd/package.json').version)"], {
      cwd: join(root, "node_modules/wrangler"),
    })
      .toString()
      .trim();
  } catch {
    // reported as unknown
  }
  return {
    node: process.version,
    wrangler: version("wrangler"),
    workerd,
    hono: version("hono"),
    "drizzle-orm": version("drizzle-orm"),
    zod: version("zod"),
    bcryptjs: version("bcryptjs"),
    autocannon: version("autocannon"),
  };
}
