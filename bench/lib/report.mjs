// Turns one benchmark run into BENCHMARKS.md and an SVG bar chart. Every figure is shown
// next to the baseline it is compared with, both measured in the same run.

const fmt = (value, digits = 2) => (value === null || value === undefined ? "n/a" : Number(value).toFixed(digits));
/** "+0.120 ms" / "−0.040 ms". */
const signedMs = (value, digits = 3) =>
  value === null || value === undefined ? "n/a" : `${value >= 0 ? "+" : "−"}${fmt(Math.abs(value), digits)} ms`;
const ratio = (value) => (value === null || value === undefined ? "n/a" : `${Number(value).toFixed(2)}×`);
/** "1.21× [1.10–1.35], +0.120 ms": the median ratio over the pairs, its range, and the extra milliseconds. */
function cpuVersus(baseline) {
  const [low, high] = baseline.cpuRatioRange ?? [];
  const range = baseline.pairs > 1 ? ` [${fmt(low)}–${fmt(high)}]` : "";
  return `${ratio(baseline.cpuRatio)}${range}, ${signedMs(baseline.cpuExtraMs)}`;
}

/** "Well under 2 ms", as the bench judges it (see `judge`): the median at most this. */
const SECOND_FACTOR_MEDIAN_MS = 1.5;

/** The issue's target for POST /login after the restructure: CPU beyond its bcrypt compare. */
const LOGIN_BEYOND_COMPARE_MS = 1.5;

const STATUS = { met: "✅ met", missed: "❌ missed", unassessed: "➖ not assessed" };

/** The targets from the issue, judged on this run's numbers only. */
export function judge(run) {
  const scenario = (name) => run.scenarios.find((s) => s.name === name);
  const cpuRatio = (name) => scenario(name)?.baseline?.cpuRatio ?? null;
  const trips = (name) => scenario(name)?.d1RoundTrips ?? null;
  const atMost = (value, limit) => (value === null ? "unassessed" : value <= limit ? "met" : "missed");
  const exactly = (value, expected) => (value === null ? "unassessed" : value === expected ? "met" : "missed");
  const fullLoad = run.settings.connections >= 64 && (run.settings.durationS ?? 0) >= 30;
  // The control scenario measures local tooling, not the API.
  const errors = run.scenarios.filter((s) => !s.control).reduce((sum, s) => sum + s.errors, 0);
  const control = run.scenarios.find((s) => s.control);
  return [
    {
      target: "Authenticated `GET /welcome` CPU ≤ 1.3× the reference route",
      measured: ratio(cpuRatio("welcome")),
      status: atMost(cpuRatio("welcome"), 1.3),
    },
    {
      target: "`GET /welcome`: 0 D1 round trips",
      measured: fmt(trips("welcome")),
      status: exactly(trips("welcome"), 0),
    },
    {
      target: `\`POST /login\` CPU ≤ 1.1× one bcrypt compare at cost ${run.settings.cost}`,
      measured: ratio(cpuRatio("login")),
      status: atMost(cpuRatio("login"), 1.1),
    },
    {
      target: `\`POST /register\` CPU ≤ 1.1× one bcrypt hash at cost ${run.settings.cost}`,
      measured: ratio(cpuRatio("register")),
      status: atMost(cpuRatio("register"), 1.1),
    },
    {
      // The issue allows "+1 only when a rehash or session write is due, batched": a successful
      // login always writes its session, so it makes one read and one batched write.
      target:
        "`POST /login`: 1 D1 round trip, +1 batched write when a session write or rehash is due (every successful login writes its session)",
      measured: fmt(trips("login")),
      status: atMost(trips("login"), 2),
    },
    {
      target: "`POST /register`: 1 D1 round trip",
      measured: fmt(trips("register")),
      status: exactly(trips("register"), 1),
    },
    // The issue asks for "well under 2 ms" of CPU beyond the reference. Judged on the CPU
    // in the Worker's isolate (D1 answered from memory) with D1's client side added at a
    // full service-binding round trip per D1 call, which overcounts it: met when the median
    // over the pairs is at most 1.5 ms (a quarter under the limit) and no pair reaches 2 ms.
    ...["login-mfa", "login-passkey"].map((name) => {
      const row = run.inIsolate?.routes.find((r) => r.name === name);
      const route = name === "login-mfa" ? "POST /login/mfa` (TOTP)" : "POST /login/passkey`";
      return {
        target: `\`${route} CPU well under 2 ms over the reference route: in the Worker's isolate, D1's client side counted at a binding round trip per call; median at most ${fmt(SECOND_FACTOR_MEDIAN_MS, 1)} ms, every pair under 2 ms`,
        measured: row
          ? `${signedMs(row.boundMs, 2)} median, ${fmt(row.boundRange[0], 2)} to ${fmt(row.boundRange[1], 2)} ms over ${row.pairs} pairs (the Worker's own code ${signedMs(row.extraMs, 2)}; whole process with local D1: ${signedMs(scenario(name)?.baseline.cpuExtraMs, 2)})`
          : "–",
        status: row
          ? row.boundMs <= SECOND_FACTOR_MEDIAN_MS && row.boundRange[1] < 2
            ? "met"
            : "missed"
          : "unassessed",
      };
    }),
    (() => {
      const login = loginBeyondCompare(run);
      const row = login.judged;
      return {
        target: `\`POST /login\` CPU at most ${fmt(LOGIN_BEYOND_COMPARE_MS, 1)} ms beyond one bcrypt compare at the same cost: in the Worker's isolate, D1's client side counted at a binding round trip per call; judged at cost 4 (the same code with 1/64 of bcrypt's loop: at cost 10 the noise here exceeds the target), median`,
        measured: row
          ? `${signedMs(row.boundMs, 2)} median, ${fmt(row.boundRange[0], 2)} to ${fmt(row.boundRange[1], 2)} ms over ${row.pairs} pairs (the Worker's own code ${signedMs(row.extraMs, 2)}; at cost ${run.settings.cost} ${signedMs(login.sameCost?.extraMs, 2)}; whole process with local D1: ${signedMs(login.processMs, 2)})`
          : "–",
        status: row ? (row.boundMs <= LOGIN_BEYOND_COMPARE_MS ? "met" : "missed") : "unassessed",
      };
    })(),
    {
      target: "Worker bundle ≤ 100 KiB gzip (`--minify`)",
      measured: `${fmt(run.bundle.worker.gzipKiB)} KiB`,
      status: atMost(run.bundle.worker.gzipKiB, 100),
    },
    {
      target: "No errors at 64 connections for 30 s on any scenario",
      measured: run.settings.quick
        ? `${errors} errors (quick run: ${run.settings.connections} connections, no timed runs)`
        : `${errors} errors at ${run.settings.connections} connections × ${run.settings.durationS} s` +
          (control ? ` (control with no API code: ${control.errors})` : ""),
      status: fullLoad ? (errors === 0 ? "met" : "missed") : "unassessed",
    },
  ];
}

/**
 * POST /login's CPU beyond one bcrypt compare at the same cost: the whole process's (the
 * load scenarios) and the isolate's rows (`run.inIsolate.login`). `judged` is the row the
 * target is judged on: cost 4 with D1 from memory, the same code as at cost 10 with 1/64 of
 * the bcrypt loop, since beside 80 ms of bcrypt the noise on a shared machine is larger than
 * the target. Local D1's share: measured (cost 4, real local D1 minus D1 from memory), and
 * as the whole process minus the isolate at the run's cost.
 */
export function loginBeyondCompare(run) {
  const rows = [];
  const processRowOf = (name) => {
    const scenario = run.scenarios.find((s) => s.name === name);
    return scenario?.baseline?.cpuExtraMs != null ? scenario : undefined;
  };
  const processRow = processRowOf("login");
  const process4 = processRowOf("login-cost4");
  for (const [row, cost] of [
    [processRow, run.settings.cost],
    [process4, 4],
  ]) {
    if (!row) continue;
    rows.push({
      label: `Whole worker process (wrangler dev, local D1), cost ${cost}`,
      loginMs: row.cpuMs.worker,
      compareMs: row.baseline.cpuMs,
      extraMs: row.baseline.cpuExtraMs,
      extraRange: undefined,
      pairs: row.baseline.pairs,
    });
  }
  const login = run.inIsolate?.login ?? [];
  for (const r of login) {
    const where = r.d1 === "local" ? "In the isolate, real local D1" : "In the Worker's isolate, D1 from memory";
    rows.push({ ...r, label: `${where}, cost ${r.cost}`, boundMs: r.d1 === "local" ? undefined : r.boundMs });
  }
  const find = (cost, d1 = "memory") => login.find((r) => r.cost === cost && (r.d1 ?? "memory") === d1);
  const same = find(run.settings.cost);
  const cost4 = find(4);
  const cost4Local = find(4, "local");
  return {
    rows,
    judged: cost4,
    sameCost: same,
    processMs: processRow?.baseline.cpuExtraMs,
    process4Ms: process4?.baseline.cpuExtraMs,
    localD1Ms: cost4 && cost4Local ? cost4Local.extraMs - cost4.extraMs : undefined,
    // What the whole process spends beyond the isolate with local D1: HTTP in and out of
    // workerd and miniflare's entry worker for a JSON POST against the compare's GET.
    httpMs: process4 && cost4Local ? process4.baseline.cpuExtraMs - cost4Local.extraMs : undefined,
    outsideMs: processRow && same ? processRow.baseline.cpuExtraMs - same.extraMs : undefined,
  };
}

export function markdown(run, { svgPath, importRun }) {
  const { settings, machine, versions } = run;
  const lines = [];
  const table = (head, rows) => {
    lines.push(`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`);
    for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
    lines.push("");
  };

  lines.push(
    "# Benchmarks",
    "",
    `Generated by \`npm run bench${settings.quick ? " -- --quick" : ""}\` on ${run.date} (commit \`${run.commit}\`).`,
    "Do not edit by hand: run the benchmark again. How it works is in [README.md](README.md) next to this file.",
    "",
  );
  if (settings.quick) {
    lines.push("> **Quick run** (CI smoke): few connections and short windows; the numbers are indicative only.", "");
  }

  lines.push("## Setup", "");
  table(
    ["", ""],
    [
      ["Machine", `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, ${machine.os}`],
      [
        "Machine load",
        `1-minute load average ${fmt(machine.loadAverage?.start)} at the start, ${fmt(machine.loadAverage?.end)} at the end (other builds share this machine; above ${machine.cores} the figures get noisier and throughput drops)`,
      ],
      ["Node", versions.node],
      ["wrangler / workerd", `${versions.wrangler} / ${versions.workerd}`],
      [
        "Worker dependencies",
        `hono ${versions.hono}, drizzle-orm ${versions["drizzle-orm"]}, zod ${versions.zod}, bcryptjs ${versions.bcryptjs}`,
      ],
      ["Load generator", `autocannon ${versions.autocannon}, in-process, on the same machine`],
      [
        "Load",
        settings.quick
          ? `one CPU run per scenario: ${settings.cpuRequests.fast} requests at ${settings.cpuConnections.fast} connections (bcrypt routes: ${settings.cpuRequests.bcrypt} at ${settings.cpuConnections.bcrypt}), after 5 unmeasured warm-up requests`
          : `${settings.connections} connections × ${settings.durationS} s per scenario for req/s, latency, errors and D1 round trips; then ${settings.cpuRounds.fast} CPU runs of ${settings.cpuRequests.fast} requests at ${settings.cpuConnections.fast} connections (bcrypt routes: ${settings.cpuRounds.bcrypt} runs of ${settings.cpuRequests.bcrypt} at ${settings.cpuConnections.bcrypt}); every run after 5 unmeasured warm-up requests`,
      ],
      ["bcrypt cost", `${settings.cost} (\`BCRYPT_COST\`, the default)`],
    ],
  );

  lines.push("## Targets", "");
  table(
    ["Target", "Measured", "Status"],
    judge(run).map((t) => [t.target, t.measured, STATUS[t.status]]),
  );

  lines.push(
    "## Scenarios",
    "",
    "CPU is milliseconds of user + system time per completed request, from `/proc/<pid>/stat` of the",
    "workerd processes `wrangler dev` started: **worker** is the process running the Worker (with",
    "miniflare's entry worker and, for the API, the local D1 database in the same process), **proxy** is",
    "wrangler's proxy worker in front of it (not present in production). Ratios compare the worker",
    "process's CPU with the baseline named in the last column, measured in this same run.",
    "",
  );
  table(
    [
      "Scenario",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "CPU ms/req (worker)",
      "CPU ms/req (proxy)",
      "D1 round trips/req",
      "CPU vs baseline",
      "baseline",
    ],
    run.scenarios.map((s) => [
      s.label,
      fmt(s.rps, 0),
      fmt(s.latencyP50, 0),
      fmt(s.latencyP99, 0),
      String(s.errors),
      fmt(s.cpuMs.worker, 3),
      fmt(s.cpuMs.proxy, 3),
      s.d1RoundTrips === null ? "–" : fmt(s.d1RoundTrips),
      s.baseline ? cpuVersus(s.baseline) : "–",
      s.baseline ? s.baseline.label : "–",
    ]),
  );
  const missing = run.skipped.map((s) => `- ${s}`);
  if (missing.length > 0) lines.push("Not measured in this run:", "", ...missing, "");
  const errorSamples = run.scenarios.filter((s) => s.errorSamples.length > 0);
  if (errorSamples.length > 0) {
    lines.push("Unexpected answers (first few per scenario):", "");
    for (const s of errorSamples) lines.push(`- ${s.label}: ${s.errorSamples.map((e) => `\`${e}\``).join(", ")}`);
    lines.push("");
  }
  if (run.inIsolate) {
    const { routes, bindingMs, bindingRuns, requestsPerRun } = run.inIsolate;
    lines.push(
      "### CPU in the Worker's isolate",
      "",
      "What Cloudflare bills as a Worker's CPU is the time its isolate runs; D1 runs elsewhere. Here the",
      "API's own app runs inside the bench worker of `bench/worker/` (same bindings and settings): one",
      "real request per route is recorded with every D1 answer, then sent to the app again and again",
      `inside one request to that worker, ${requestsPerRun} times per run, each D1 call answered from memory`,
      "(no SQLite, no HTTP in front), alternating with the reference route run the same way; CPU is the",
      "worker process's, per request. The client side of each D1 call (a subrequest to D1, JSON both",
      "ways) runs in the isolate on Cloudflare too and is not in those figures, so each D1 call is",
      `also counted at what a service-binding round trip with a 1 KiB JSON body and answer costs here: ${fmt(bindingMs, 3)} ms`,
      `(median of ${bindingRuns} runs), an overcount, since it includes the answering worker's side. Medians over the`,
      "pairs, ranges in brackets.",
      "",
    );
    table(
      [
        "Route",
        "D1 round trips/req",
        "CPU ms/req (D1 from memory)",
        "reference",
        "over the reference",
        "with D1's client side",
        "pairs",
      ],
      routes.map((r) => [
        r.label,
        fmt(r.roundTrips),
        fmt(r.ownMs, 3),
        fmt(r.referenceMs, 3),
        `${signedMs(r.extraMs, 2)} [${fmt(r.extraRange[0], 2)}, ${fmt(r.extraRange[1], 2)}]`,
        `${signedMs(r.boundMs, 2)} [${fmt(r.boundRange[0], 2)}, ${fmt(r.boundRange[1], 2)}]`,
        String(r.pairs),
      ]),
    );
  }
  const login = loginBeyondCompare(run);
  if (login.rows.length > 0) {
    lines.push(
      "### POST /login beyond its bcrypt compare",
      "",
      "POST /login's CPU minus one bcrypt compare at the same cost, each measured in the same run: in",
      "the whole worker process (the Scenarios table's login rows against their baselines: local D1's",
      "SQLite, its plumbing, workerd's HTTP and miniflare's entry worker included) and in the Worker's",
      "isolate (as above: the recorded login replayed with D1 answered from memory, against the",
      "reference worker's bcrypt compare route replayed in the same isolate). At cost 4",
      "(`BCRYPT_COST=4` with `ENVIRONMENT=test`: the same code with 1/64 of bcrypt's loop; in the",
      "load runs through the bench worker's `X-Bench-Variant: cost4`, with accounts hashed at cost 4)",
      "every share shows with far less noise than beside 80 ms of bcrypt, and the same login replayed",
      "against the real local D1 (SQLite in the worker's process) gives local D1's share directly.",
      "`npm run bench -- --profile login-cost4` shows where the Worker's own share goes.",
      "",
    );
    table(
      [
        "Measure",
        "POST /login CPU ms/req",
        "one bcrypt compare",
        "beyond the compare",
        "with D1's client side",
        "pairs",
      ],
      login.rows.map((r) => [
        r.label,
        fmt(r.loginMs, 3),
        fmt(r.compareMs, 3),
        r.extraRange
          ? `${signedMs(r.extraMs, 2)} [${fmt(r.extraRange[0], 2)}, ${fmt(r.extraRange[1], 2)}]`
          : signedMs(r.extraMs, 2),
        r.boundMs === undefined
          ? "–"
          : `${signedMs(r.boundMs, 2)} [${fmt(r.boundRange[0], 2)}, ${fmt(r.boundRange[1], 2)}]`,
        String(r.pairs),
      ]),
    );
    const parts = [];
    if (login.judged) parts.push(`the Worker's own code ${signedMs(login.judged.extraMs, 2)} (cost 4, D1 from memory)`);
    if (login.localD1Ms !== undefined)
      parts.push(`local D1 ${signedMs(login.localD1Ms, 2)} (cost 4, real local D1 minus D1 from memory)`);
    if (login.httpMs !== undefined) {
      parts.push(
        `the rest of the whole process at cost 4 ${signedMs(login.httpMs, 2)} (its HTTP and entry worker for a JSON POST against the compare's GET: process minus the real-local-D1 row)`,
      );
    }
    if (login.outsideMs !== undefined) {
      parts.push(
        `at cost ${run.settings.cost}, the whole process minus the isolate ${signedMs(login.outsideMs, 2)} (everything outside the app, from two noisy figures)`,
      );
    }
    if (parts.length > 0) lines.push(`Beyond the compare: ${parts.join("; ")}.`, "");
  }
  if (run.inIsolate?.sign) {
    const { jwkMs, cryptoKeyMs, savedMs, savedRange, pairs, requestsPerRun } = run.inIsolate.sign;
    lines.push(
      "### Signing an ES256 access token",
      "",
      "hono/jwt `sign` of an access token's claims with ES256 in the Worker's isolate, given the private",
      "JWK (imported by WebCrypto on every call, as hono/jwt does with a JWK) or a",
      `CryptoKey imported once. ${requestsPerRun} signatures per run, medians over ${pairs} pairs.`,
      "",
    );
    table(
      ["JWK imported per call", "cached CryptoKey", "saved per token"],
      [
        [
          `${fmt(jwkMs, 3)} ms`,
          `${fmt(cryptoKeyMs, 3)} ms`,
          `${fmt(savedMs, 3)} ms [${fmt(savedRange[0], 3)}, ${fmt(savedRange[1], 3)}]`,
        ],
      ],
    );
  }
  lines.push(`![CPU per request as a ratio to its baseline, and bundle sizes](${svgPath})`, "");

  lines.push(
    "## Bundle",
    "",
    '`wrangler deploy --dry-run --minify`, as wrangler reports it ("Total Upload"); the reference is',
    "`bench/reference/src/app.ts`, the Hono app with the single JSON route.",
    "",
  );
  const { worker, reference } = run.bundle;
  table(
    ["Bundle", "raw KiB", "gzip KiB", "gzip vs reference"],
    [
      [
        "API worker (`src/worker.ts`)",
        fmt(worker.rawKiB),
        fmt(worker.gzipKiB),
        ratio(worker.gzipKiB / reference.gzipKiB),
      ],
      ["Reference (`bench/reference/src/app.ts`)", fmt(reference.rawKiB), fmt(reference.gzipKiB), ratio(1)],
    ],
  );
  lines.push(
    "What each package costs: minified bytes in the bundle (esbuild's metafile), and the gzip KiB saved",
    "if the package were gone (the worker bundled again with its imports aliased to an empty module).",
    "",
  );
  table(
    ["Package", "minified KiB", "share", "gzip KiB saved without it", "imported as"],
    run.bundle.packages.map((p) => [
      p.name,
      fmt(p.minifiedKiB, 1),
      `${fmt((100 * p.minifiedKiB * 1024) / (worker.rawKiB * 1024), 0)}%`,
      p.gzipSavedKiB === undefined ? "–" : fmt(p.gzipSavedKiB, 1),
      p.specifiers.map((s) => `\`${s}\``).join(", ") || "–",
    ]),
  );
  if (importRun) {
    const { users, seconds, date, commit, loadAverage, wranglerRuns, rowsPerFile = 20_000 } = importRun;
    lines.push(
      "## Import",
      "",
      `\`npm run bench:import\` on ${date} (commit \`${commit}\`): \`npm run import:users\` of a generated ` +
        `\`mongoexport\` file of ${users.toLocaleString("en-US")} users into a fresh local D1 ` +
        `(${wranglerRuns} wrangler runs: the migrations, the existing-users query and one \`d1 execute --file\` per ${rowsPerFile.toLocaleString("en-US")} users), 1-minute load average ${fmt(loadAverage, 2)} at the start.`,
      "",
    );
    table(
      ["users", "wall time (s)", "users/s"],
      [[users.toLocaleString("en-US"), fmt(seconds, 1), fmt(users / seconds, 0)]],
    );
  }
  const notes = [...run.notes];
  if (run.scenarios.some((s) => s.errorSamples.some((e) => e.includes("restarted mid-request")))) {
    notes.push(
      "The 503 \"Your worker restarted mid-request\" answers come from wrangler dev's proxy, not from the API: the worker was not restarted (same process ids throughout). The proxy answers that text whenever its forward to the worker's process fails on any path but `/` and the request cannot be retried (anything but GET and HEAD); the same load sent straight to the worker's own port gets connection resets (ECONNRESET) instead. It happens only to requests that use local D1 while they wait, for seconds, behind up to 64 bcrypt computations on the one local thread: the bcrypt baselines (no D1) never get it, and the control row (the reference worker's bcrypt compare between two `select 1` queries, none of the API's code) gets it at the same load. On Cloudflare such load is spread over many isolates and D1 runs elsewhere.",
    );
  }
  if (notes.length > 0) lines.push("## Notes", "", ...notes.map((n) => `- ${n}`), "");
  return `${lines.join("\n").trimEnd()}\n`;
}

/** A two-panel bar chart: CPU per request as a ratio to its baseline, and gzip bundle sizes. */
export function svg(run) {
  const width = 820;
  const labelWidth = 230;
  const barMax = 440;
  const rowHeight = 26;
  const rows = run.scenarios.filter((s) => s.baseline);
  const maxRatio = Math.max(2, ...rows.map((s) => s.baseline.cpuRatio ?? 0)) * 1.05;
  const x = (value) => labelWidth + (Math.min(value, maxRatio) / maxRatio) * barMax;
  const parts = [];
  let y = 40;
  const text = (tx, ty, content, attrs = "") =>
    `<text x="${tx}" y="${ty}" ${attrs}>${String(content).replace(/&/g, "&amp;").replace(/</g, "&lt;")}</text>`;

  parts.push(text(10, 24, "CPU per request (worker process) as a ratio to its baseline", 'font-weight="bold"'));
  const top = y;
  for (const s of rows) {
    const r = s.baseline.cpuRatio ?? 0;
    const limit = s.baseline.target;
    const over = limit !== undefined && r > limit;
    parts.push(text(10, y + 17, s.label));
    parts.push(
      `<rect x="${labelWidth}" y="${y + 4}" width="${(x(r) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${over ? "#d9534f" : "#4a7fc1"}"/>`,
    );
    if (limit !== undefined) {
      parts.push(
        `<line x1="${x(limit)}" y1="${y + 1}" x2="${x(limit)}" y2="${y + rowHeight - 1}" stroke="#222" stroke-dasharray="3,2"/>`,
      );
    }
    parts.push(
      text(
        x(r) + 6,
        y + 17,
        `${fmt(r)}× (${fmt(s.cpuMs.worker, 3)} ms vs ${fmt(s.baseline.cpuMs, 3)} ms)`,
        'font-size="11"',
      ),
    );
    y += rowHeight;
  }
  parts.push(`<line x1="${x(1)}" y1="${top}" x2="${x(1)}" y2="${y}" stroke="#888"/>`);
  parts.push(text(x(1) - 8, y + 14, "1×", 'font-size="11" fill="#555"'));
  parts.push(
    text(labelWidth, y + 30, "dashed: target (1.3× reference route, 1.1× bcrypt floor)", 'font-size="11" fill="#555"'),
  );
  y += 60;

  parts.push(text(10, y, "Bundle, gzip KiB (wrangler deploy --dry-run --minify)", 'font-weight="bold"'));
  y += 16;
  const { worker, reference } = run.bundle;
  const maxKiB = Math.max(110, worker.gzipKiB, reference.gzipKiB) * 1.05;
  const bx = (kib) => labelWidth + (kib / maxKiB) * barMax;
  const bundleTop = y;
  for (const [label, kib] of [
    ["API worker", worker.gzipKiB],
    ["Reference", reference.gzipKiB],
  ]) {
    parts.push(text(10, y + 17, label));
    parts.push(
      `<rect x="${labelWidth}" y="${y + 4}" width="${(bx(kib) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${kib > 100 ? "#d9534f" : "#4a7fc1"}"/>`,
    );
    parts.push(text(bx(kib) + 6, y + 17, `${fmt(kib)} KiB`, 'font-size="11"'));
    y += rowHeight;
  }
  parts.push(
    `<line x1="${bx(100)}" y1="${bundleTop}" x2="${bx(100)}" y2="${y}" stroke="#222" stroke-dasharray="3,2"/>`,
  );
  parts.push(text(bx(100) - 40, y + 14, "100 KiB target", 'font-size="11" fill="#555"'));
  y += 30;
  parts.push(
    text(
      10,
      y,
      `${run.date} · ${run.settings.connections} connections${run.settings.quick ? " · quick run" : ` × ${run.settings.durationS} s`}`,
      'font-size="11" fill="#555"',
    ),
  );
  y += 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" font-size="13" role="img">`,
    "<title>npm run bench: CPU per request as a ratio to its baseline, and gzip bundle sizes</title>",
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/** `--against`: the in-isolate rows of two builds side by side (run.sides[0] this checkout). */
export function againstMarkdown(run) {
  const [ours, theirs] = run.sides;
  const lines = [
    `# In-isolate CPU: ${ours.label} against ${theirs.label}`,
    "",
    `Generated by \`npm run bench -- --against\` on ${run.date}, machine load ${fmt(run.machine.loadAverage)} (${run.machine.cores} cores).`,
    "Both builds ran in the bench worker of this checkout, each on its own `wrangler dev` and local D1, every",
    "run of one right after the same run of the other. ms of CPU per request, medians over",
    `${run.settings.rounds} pairs each (${run.settings.count} requests a run; bcrypt at cost 10: ${run.settings.slowCount}).`,
    "",
    `| Row | ${ours.label} | ${theirs.label} | difference |`,
    "| --- | --- | --- | --- |",
  ];
  const row = (label, a, b, digits = 3) =>
    lines.push(`| ${label} | ${fmt(a, digits)} | ${fmt(b, digits)} | ${signedMs(a - b, digits)} |`);
  for (const r of ours.routes) {
    const other = theirs.routes.find((t) => t.name === r.name);
    row(`${r.label}: over the reference route`, r.extraMs, other?.extraMs);
    row(`${r.label}: with D1's client side (${fmt(r.roundTrips)} D1 round trips)`, r.boundMs, other?.boundMs);
  }
  for (const r of ours.login) {
    const other = theirs.login.find((t) => t.name === r.name);
    row(`${r.label}: beyond one bcrypt compare at cost ${r.cost}`, r.extraMs, other?.extraMs);
  }
  row("ES256 sign, JWK imported per call", ours.sign.jwkMs, theirs.sign.jwkMs, 4);
  row("ES256 sign, cached CryptoKey", ours.sign.cryptoKeyMs, theirs.sign.cryptoKeyMs, 4);
  row("a service-binding round trip (D1's client side)", ours.bindingMs, theirs.bindingMs);
  lines.push("", "Difference: this checkout minus the other; negative is cheaper here.");
  return `${lines.join("\n")}\n`;
}
