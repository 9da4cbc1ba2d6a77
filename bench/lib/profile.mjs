// A V8 CPU profile of replayed work in the bench worker (bench/worker/), taken over wrangler
// dev's DevTools inspector, and read back as milliseconds per request by where they go: by
// module (a package, a file of src/, the runtime's own functions) and by the app's call site
// (the innermost function of src/ on the stack, so Drizzle's time lands on the query that
// asked for it). For finding where CPU goes, not for CPU figures: a server with its inspector
// attached is never measured for those (see servers.mjs), and sampling slows the code it
// samples, unevenly; shares are what to read, the bench's CPU figures what to scale them by.
import WebSocket from "ws";

/** One DevTools session to `ws://127.0.0.1:<port>/ws` (wrangler dev's inspector proxy). */
async function devtools(port) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let next = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    const settle = pending.get(message.id);
    if (!settle) return;
    pending.delete(message.id);
    if (message.error) settle.reject(new Error(`${message.error.message} (DevTools)`));
    else settle.resolve(message.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

/**
 * Profiles each of `runs` (`{ name, what }`, query parameters of /__bench/replay) for
 * `count` requests on the bench worker at `url` whose inspector listens on `inspectorPort`,
 * after `warm` unmeasured ones. Returns `{ profiles: { [name]: profile }, source }`, the
 * worker bundle's source (to map profile lines to the modules they came from).
 */
export async function profileReplays({ url, inspectorPort, runs, count, warm, intervalUs = 200 }) {
  const session = await devtools(inspectorPort);
  const replay = async (what, n) => {
    const query = new URLSearchParams({ ...what, n: String(n) });
    const res = await fetch(`${url}/__bench/replay?${query}`, { method: "POST", signal: AbortSignal.timeout(900_000) });
    const body = await res.json();
    if (res.status !== 200 || body.statuses?.["200"] !== n || body.misses.length > 0) {
      throw new Error(
        `bench (profile): replaying ${query} answered ${res.status} ${JSON.stringify(body).slice(0, 300)}`,
      );
    }
  };
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: intervalUs });
    const profiles = {};
    for (const { name, what } of runs) {
      await replay(what, warm);
      await session.send("Profiler.start");
      await replay(what, count);
      profiles[name] = (await session.send("Profiler.stop")).profile;
    }
    await session.send("Profiler.disable");
    // The bundle, for its `// <path>` module comments: asked for after profiling, since an
    // enabled debugger can change how code runs.
    await session.send("Debugger.enable");
    const url = bundleUrl(Object.values(profiles)[0]);
    const scriptId = Object.values(profiles)
      .flatMap((p) => p.nodes)
      .find((n) => n.callFrame.url === url)?.callFrame.scriptId;
    if (!scriptId) throw new Error("bench (profile): no frame of the worker's bundle in the profile");
    const { scriptSource } = await session.send("Debugger.getScriptSource", { scriptId });
    await session.send("Debugger.disable");
    return { profiles, source: scriptSource };
  } finally {
    session.close();
  }
}

const BCRYPT_SITE = "bcryptjs (a compare or hash, wherever called)";

/** The worker bundle's script url in `profile` (named after the entry wrangler built): the
 * url most frames have, the runtime's own (`""`, `cloudflare-internal:...`) aside. */
function bundleUrl(profile) {
  const counts = new Map();
  for (const { callFrame } of profile.nodes) {
    if (!callFrame.url || callFrame.url.includes(":")) continue;
    counts.set(callFrame.url, (counts.get(callFrame.url) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** Line (0-based) → the module esbuild put there, from the bundle's `// <path>` comments. */
function moduleLines(source) {
  const starts = [];
  source.split("\n").forEach((line, i) => {
    const match = /^\/\/ (\S+\.(?:[cm]?js|ts))$/.exec(line);
    if (match) starts.push([i, match[1].replace(/^(\.\.\/)+/, "")]);
  });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = "bundle";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid][0] <= line) {
        found = starts[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** The bucket of a module path: a package by name, a file of src/ or bench/, or the runtime. */
function bucketOf(frame, moduleAt, bundle) {
  const { url, functionName } = frame;
  if (url === bundle) {
    const path = moduleAt(frame.lineNumber);
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (pkg) return pkg[1];
    return path;
  }
  if (url) return `runtime: ${url}`;
  return functionName.startsWith("(") ? `V8 ${functionName}` : `runtime: ${functionName}()`;
}

/**
 * Milliseconds per request of `profile` (of `count` requests): `busyMs` (every sample but
 * idle), `buckets` (self time by bucketOf) and `sites` (by the innermost src/ function on the
 * stack, else the innermost bench/ one, else the leaf's bucket; bcryptjs's time under one key), each as `[key, ms][]`.
 * The sampler counts busy wall time, which the profiling itself and a loaded machine both
 * stretch, so with `cpuMs` (the same work's CPU per request measured without the profiler)
 * every figure is scaled to add up to it: each share of the profile times the real CPU.
 */
export function readProfile(profile, source, count, cpuMs) {
  const moduleAt = moduleLines(source);
  const bundle = bundleUrl(profile);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const where = new Map();
  const siteOf = (id) => {
    if (where.has(id)) return where.get(id);
    let bench;
    let site;
    for (let at = id; at !== undefined && !site; at = parent.get(at)) {
      const frame = nodes.get(at).callFrame;
      if (frame.url !== bundle) continue;
      const path = moduleAt(frame.lineNumber);
      // bcrypt is the baseline's own work: one key wherever it is called from, so it cancels.
      const name = `${frame.functionName || "(anonymous)"} (${path})`;
      if (path.includes("node_modules/bcryptjs/")) site = BCRYPT_SITE;
      else if (path.startsWith("src/")) site = name;
      else if (path.startsWith("bench/")) bench ??= name;
    }
    const found = site ?? bench ?? bucketOf(nodes.get(id).callFrame, moduleAt, bundle);
    where.set(id, found);
    return found;
  };
  const buckets = new Map();
  const sites = new Map();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id).callFrame;
    if (frame.functionName === "(idle)") return;
    const us = profile.timeDeltas[i + 1] ?? 0;
    busy += us;
    const bucket = bucketOf(frame, moduleAt, bundle);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
    const site = siteOf(id);
    sites.set(site, (sites.get(site) ?? 0) + us);
  });
  const scale = cpuMs === undefined || busy === 0 ? 1 : (cpuMs * 1000 * count) / busy;
  const perRequest = (map) =>
    [...map].map(([key, us]) => [key, (us * scale) / 1000 / count]).sort((a, b) => b[1] - a[1]);
  return {
    busyMs: busy / 1000 / count,
    cpuMs,
    samples: profile.samples.length,
    buckets: perRequest(buckets),
    sites: perRequest(sites),
  };
}

/** `run` beside `base` (readProfile results): rows `{ key, run, base, extra }` by extra, largest first. */
export function compareProfiles(run, base, field) {
  const baseMs = new Map(base[field]);
  const keys = new Set([...run[field].map(([key]) => key), ...baseMs.keys()]);
  const runMs = new Map(run[field]);
  return [...keys]
    .map((key) => ({ key, run: runMs.get(key) ?? 0, base: baseMs.get(key) ?? 0 }))
    .map((row) => ({ ...row, extra: row.run - row.base }))
    .sort((a, b) => b.extra - a.extra);
}

/** A markdown report of a route's profile beside its baseline's (readProfile results). */
export function profileMarkdown({ label, baseLabel, count, intervalUs, run, base, files }) {
  const ms = (value) => (Math.abs(value) < 0.0005 ? "0" : value.toFixed(3));
  const scaled = run.cpuMs !== undefined && base.cpuMs !== undefined;
  const extra = scaled ? run.cpuMs - base.cpuMs : run.busyMs - base.busyMs;
  const lines = [
    `# Where ${label}'s CPU goes, beyond ${baseLabel}`,
    "",
    `Generated by \`npm run bench -- --profile\` on ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}: V8 CPU profiles of ${count} replayed`,
    `requests each in the bench worker's isolate (D1 answered from memory), sampled every ${intervalUs} µs over wrangler dev's`,
    `inspector (${run.samples} and ${base.samples} samples). Milliseconds per request, ` +
      (scaled
        ? `each profile's shares scaled to the CPU the\nsame work took without the profiler (${ms(run.cpuMs)} ms and ${ms(base.cpuMs)} ms: ${extra >= 0 ? "+" : ""}${ms(extra)} ms beyond the baseline).`
        : "as the profiler counted them (busy wall time, stretched by the\nprofiling; not scaled, since most of this route's CPU is outside the isolate the profiler samples)."),
    `Profiles: ${files.map((f) => `\`${f}\``).join(", ")} (Chrome DevTools, Performance panel, can open them).`,
    "",
  ];
  const table = (title, field, limit) => {
    const rows = compareProfiles(run, base, field);
    const shown = rows.filter((r) => Math.abs(r.extra) >= 0.002 || Math.abs(r.run) >= 0.005).slice(0, limit);
    const rest = rows.filter((r) => !shown.includes(r));
    lines.push(
      `## ${title}`,
      "",
      "| | route | baseline | beyond the baseline | share of it |",
      "| --- | --- | --- | --- | --- |",
    );
    const share = (value) => (extra > 0 ? `${((100 * value) / extra).toFixed(0)}%` : "–");
    for (const r of shown)
      lines.push(`| ${r.key} | ${ms(r.run)} | ${ms(r.base)} | ${ms(r.extra)} | ${share(r.extra)} |`);
    if (rest.length > 0) {
      const sum = (key) => rest.reduce((total, r) => total + r[key], 0);
      lines.push(
        `| everything else (${rest.length}) | ${ms(sum("run"))} | ${ms(sum("base"))} | ${ms(sum("extra"))} | ${share(sum("extra"))} |`,
      );
    }
    lines.push("");
  };
  table("By module (self time: a package, a file of src/ or bench/, the runtime's own functions)", "buckets", 30);
  table(
    "By the app's call site (the innermost src/ function on the stack; library time lands on its caller)",
    "sites",
    40,
  );
  return `${lines.join("\n").trimEnd()}\n`;
}
