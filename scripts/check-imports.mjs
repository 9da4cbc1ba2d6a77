// `npm run check:imports`: the shape of src/, as CONTRIBUTING.md draws it.
//   worker.ts -> features/<name>/ -> identity/ -> platform/ -> drizzle, hono, zod
// Fails with every problem it finds, one per line:
// - an import cycle (type-only imports count: a reader follows them too);
// - a file under features/<a>/ importing one under features/<b>/ (what two features share
//   moves down into identity/ or platform/);
// - identity/ importing features/ or worker.ts; platform/ importing identity/, features/
//   or worker.ts; anything importing worker.ts;
// - a file over MAX_LINES lines;
// - bench code: the benchmark counts D1 calls by wrapping the binding in its own worker
//   (bench/), so nothing under src/ names D1_COUNT, X-D1-Round-Trips or X-D1-Twice.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../src/", import.meta.url));
const MAX_LINES = 300;
const BENCH_HOOKS = /D1_COUNT|X-D1-Round-Trips|X-D1-Twice|countRoundTrips/;

/** Every .ts file under src/, as paths relative to src/ ("identity/tokens.ts"). */
function files(dir = src) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith(".ts") ? [relative(src, path)] : [];
  });
}

const all = new Set(files());
const texts = new Map([...all].map((file) => [file, readFileSync(join(src, file), "utf8")]));
/** file -> the files of src/ it imports (static, dynamic, type-only and re-exports). */
const graph = new Map();
for (const [file, text] of texts) {
  const targets = new Set();
  for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    const base = join(dirname(file), specifier);
    const target = [`${base}.ts`, join(base, "index.ts"), base].find((path) => all.has(path));
    if (target) targets.add(target);
  }
  graph.set(file, [...targets].sort());
}

const problems = [];

// Cycles: a depth-first search that reports each back edge's loop once.
const state = new Map();
const stack = [];
function visit(file) {
  state.set(file, "open");
  stack.push(file);
  for (const next of graph.get(file)) {
    if (state.get(next) === "open") {
      problems.push(`cycle: ${[...stack.slice(stack.indexOf(next)), next].join(" -> ")}`);
    } else if (!state.has(next)) {
      visit(next);
    }
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of [...all].sort()) if (!state.has(file)) visit(file);

/** "platform", "identity", "features/<name>", "worker" or "other" (src/types/). */
function layer(file) {
  const [top, second] = file.split("/");
  if (top === "features") return `features/${second}`;
  if (top === "platform" || top === "identity") return top;
  return file === "worker.ts" ? "worker" : "other";
}
/** The layers each layer may not import. */
const FORBIDDEN = {
  platform: (target) => target !== "platform" && target !== "other",
  identity: (target) => target.startsWith("features/") || target === "worker",
};
for (const [file, targets] of graph) {
  const from = layer(file);
  for (const target of targets) {
    const to = layer(target);
    if (to === "worker") problems.push(`upward: ${file} imports worker.ts (nothing may)`);
    else if (FORBIDDEN[from]?.(to)) problems.push(`upward: ${file} (${from}) imports ${target} (${to})`);
    else if (from.startsWith("features/") && to.startsWith("features/") && from !== to) {
      problems.push(`across features: ${file} imports ${target} (move what both need into identity/ or platform/)`);
    }
  }
}

for (const [file, text] of texts) {
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_LINES) problems.push(`too long: ${file} has ${lines} lines (at most ${MAX_LINES}: split it)`);
  if (BENCH_HOOKS.test(text))
    problems.push(`bench code: ${file} names ${BENCH_HOOKS.exec(text)[0]} (bench/ wraps the binding)`);
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`check-imports: ${problems.length} problem(s) in src/`);
  process.exit(1);
}
console.log(
  `check-imports: ${all.size} files under src/, no cycle, every import points down, no feature imports another, none over ${MAX_LINES} lines, no bench code`,
);
