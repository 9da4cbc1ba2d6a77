// Runs the wrangler CLI for scripts/deploy.mjs and `config-check.mjs --deploy`: the one
// on PATH (npm run puts the project's own first; the deploy tests put a stand-in there),
// else the project's own. Never on a terminal, so wrangler never prompts and answers every
// confirmation with its documented non-interactive default. What the scripts act on comes
// from structured output: JSON on stdout for the `--json`/`--format json` commands, and the
// ND-JSON entries wrangler appends to WRANGLER_OUTPUT_FILE_PATH (`deploy` with its targets,
// `command-failed` with the error message), never from wrangler's prose.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";

const localBin = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));

/**
 * Runs `wrangler ...args` in `cwd`. `input` goes to its stdin (secret values travel only
 * this way); `show` passes its output through as it comes, for the long-running commands.
 * @param {string[]} args
 * @param {{ cwd?: string; input?: string; show?: boolean }} [options]
 * @returns {Promise<{ status: number; stdout: string; stderr: string; entries: Record<string, unknown>[] }>}
 */
export async function wrangler(args, { cwd = process.cwd(), input, show = false } = {}) {
  // Outside the project, private to this user, removed before returning.
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-wrangler-"));
  const outputFile = join(dir, "output.ndjson");
  try {
    const env = {
      ...process.env,
      PATH: [process.env.PATH, localBin].filter(Boolean).join(delimiter),
      WRANGLER_OUTPUT_FILE_PATH: outputFile,
    };
    delete env.WRANGLER_OUTPUT_FILE_DIRECTORY;
    const child = spawn("wrangler", args, { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      stdout += chunk;
      if (show) process.stdout.write(chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      stderr += chunk;
      if (show) process.stderr.write(chunk);
    });
    child.stdin.on("error", () => {}); // wrangler may exit before reading it all
    child.stdin.end(input ?? "");
    const status = await new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    });
    const entries = existsSync(outputFile)
      ? readFileSync(outputFile, "utf8")
          .split("\n")
          .filter((line) => line.trim() !== "")
          .map((line) => JSON.parse(line))
      : [];
    return { status, stdout, stderr, entries };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a wrangler run failed, in wrangler's own words: its `command-failed` entry, else the
 * end of its stderr without colours. */
export function failureOf(run) {
  const failed = run.entries.findLast((entry) => entry.type === "command-failed");
  if (typeof failed?.message === "string") return failed.message;
  const text = stripVTControlCharacters(run.stderr)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("🪵"));
  return text.slice(-3).join(" ") || `wrangler exited with status ${run.status}`;
}

/** The JSON a `--json` command printed (wrangler may print a blank line first). */
export function jsonOf(run) {
  return JSON.parse(run.stdout.trim());
}
