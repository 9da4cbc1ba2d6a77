// Bundle sizes the way Cloudflare counts them: `wrangler deploy --dry-run --minify`, whose
// "Total Upload: X KiB / gzip: Y KiB" line is the size checked against the plan limits.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Bundles with wrangler (dry run, minified) and returns `{ rawKiB, gzipKiB, metafile }`.
 * `config` is a wrangler config path; `entry` optionally overrides its `main`.
 */
export async function bundleSize({ root, wrangler, config, entry, metafile = false }) {
  const dir = mkdtempSync(join(tmpdir(), "bench-bundle-"));
  try {
    const meta = join(dir, "meta.json");
    const args = [wrangler, "deploy", "--dry-run", "--minify", "--outdir", join(dir, "out"), "-c", config];
    if (entry) args.push(entry);
    if (metafile) args.push("--metafile", meta);
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout + stderr);
    if (!match) throw new Error(`no "Total Upload" line from wrangler:\n${stdout}\n${stderr}`);
    return {
      rawKiB: Number(match[1]),
      gzipKiB: Number(match[2]),
      metafile: metafile ? JSON.parse(readFileSync(meta, "utf8")) : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The npm package a bundled input path belongs to, or `app` for the project's own code. */
function owner(path) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (match) return match[1];
  return path.startsWith("src/") ? "app (src/)" : "other";
}

/**
 * Minified bytes per package in the bundle (esbuild's `bytesInOutput`), and for each
 * package the specifiers the rest of the code imports it by.
 */
export function breakdown(metafile) {
  const bytes = new Map();
  for (const [name, output] of Object.entries(metafile.outputs)) {
    if (!name.endsWith(".js")) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      bytes.set(owner(input), (bytes.get(owner(input)) ?? 0) + bytesInOutput);
    }
  }
  const specifiers = new Map();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const { path, original } of imports ?? []) {
      const target = owner(path);
      if (!original || target === owner(input) || target === "app (src/)" || target === "other") continue;
      if (!specifiers.has(target)) specifiers.set(target, new Set());
      specifiers.get(target).add(original);
    }
  }
  return [...bytes.entries()]
    .map(([name, minified]) => ({ name, minifiedKiB: minified / 1024, specifiers: [...(specifiers.get(name) ?? [])] }))
    .sort((a, b) => b.minifiedKiB - a.minifiedKiB);
}

/**
 * What dropping one package would save: the worker bundled again with every import of
 * `pkg` replaced by an empty module (wrangler's `[alias]`), compared with the real bundle.
 */
export async function withoutPackage({ root, wrangler, config, specifiers }) {
  const dir = mkdtempSync(join(tmpdir(), "bench-alias-"));
  try {
    const stub = join(dir, "empty.cjs");
    writeFileSync(stub, "module.exports = {};\n");
    const source = readFileSync(join(root, config), "utf8");
    const main = /^main\s*=\s*"([^"]+)"/m.exec(source)?.[1];
    if (!main) throw new Error(`no main in ${config}`);
    const aliases = specifiers.map((specifier) => `${JSON.stringify(specifier)} = ${JSON.stringify(stub)}`);
    // Paths in the copy must still point into the project (main, and the docs assets directory).
    const patched = source
      .replace(/^main\s*=.*$/m, `main = ${JSON.stringify(join(root, main))}`)
      .replace(/^directory\s*=\s*"([^"]+)"/m, (_, dir) => `directory = ${JSON.stringify(join(root, dir))}`);
    const copy = join(dir, "wrangler.toml");
    writeFileSync(copy, `${patched}\n[alias]\n${aliases.join("\n")}\n`);
    return await bundleSize({ root, wrangler, config: copy });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
