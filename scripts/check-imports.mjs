// `npm run check:imports`: the import graph of src/ has no cycle (type-only imports
// count: a reader follows them too) and its arrows point down:
//   index -> routes -> middleware -> auth -> db -> drizzle
// Fails with every cycle and every upward import it finds, one per line.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../src/", import.meta.url));

/** Every .ts file under src/, as paths relative to src/ ("db/users.ts"). */
function files(dir = src) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith(".ts") ? [relative(src, path)] : [];
  });
}

const all = new Set(files());
/** file -> the files of src/ it imports (static, dynamic, type-only and re-exports). */
const graph = new Map();
for (const file of all) {
  const text = readFileSync(join(src, file), "utf8");
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

// Layers: a file in one of these folders may not import from the folders listed.
const FORBIDDEN = {
  auth: ["middleware", "routes"],
  middleware: ["routes"],
};
const layer = (file) => (file.includes("/") ? file.split("/")[0] : undefined);
for (const [file, targets] of graph) {
  for (const target of targets) {
    if (target === "index.ts") problems.push(`upward: ${file} imports index.ts (nothing may)`);
    // db sits on drizzle alone: nothing of ours outside db/.
    const upward = layer(file) === "db" ? layer(target) !== "db" : FORBIDDEN[layer(file)]?.includes(layer(target));
    if (upward) problems.push(`upward: ${file} imports ${target}`);
  }
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`check-imports: ${problems.length} problem(s) in src/`);
  process.exit(1);
}
console.log(`check-imports: ${all.size} files under src/, no cycle, every import points down`);
