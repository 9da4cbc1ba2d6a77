import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startDev, stopAll, waitFor } from "../support/processes";
import { jsonDifferences, outputDifferences, README_BASE, README_MAIL, readmeExamples, splitResponses } from "./readme";

// The README's examples, run as written: one fresh `npm run dev` (its own empty D1), one
// bash process fed every runnable block in README order (so variables carry over), each
// block's output compared with what the README shows after it. The convention is in the
// README under Development, "README examples are tests".

const root = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const examples = readmeExamples(readme);

/** Scripts the README runs that use the local D1 directly: pointed at the test server's. */
const LOCAL_D1_SCRIPTS = ["admin:grant"];

let server: Running;
let dir: string;
let base: string;
/** The test server's mail catcher, standing in for the README's 127.0.0.1:1080. */
let mailApi: string;
let shell: ChildProcessWithoutNullStreams;
let stdout = "";
let stderr = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edge-auth-readme-"));
  const started: Running[] = [];
  const dev = await startDev(started, "npm run dev (README)", dir);
  [server, base, mailApi] = [dev.server, dev.url, dev.mailApi];
  await waitFor(server, `${base}/health`);
  shell = spawn("bash", ["--noprofile", "--norc"], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  shell.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  shell.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const npmWrapper = `npm() { case " ${LOCAL_D1_SCRIPTS.join(" ")} " in *" $2 "*) command npm "$@" --persist-to '${dir}';; *) command npm "$@";; esac; }`;
  shell.stdin.write(`set -e -o pipefail\n${npmWrapper}\n`);
}, 120_000);

afterAll(async () => {
  shell?.stdin.end();
  shell?.kill();
  await stopAll(server ? [server] : []);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `script` in the shared shell and resolves to what it printed on stdout. */
function runInShell(script: string, timeoutMs = 60_000): Promise<string> {
  const marker = `__readme_block_${crypto.randomUUID()}__`;
  const start = stdout.length;
  stderr = "";
  shell.stdin.write(`${script.replaceAll(README_BASE, base).replaceAll(README_MAIL, mailApi)}\necho ${marker}\n`);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = setInterval(() => {
      const at = stdout.indexOf(marker, start);
      if (at !== -1) {
        clearInterval(poll);
        resolve(stdout.slice(start, at));
      } else if (shell.exitCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        const why = shell.exitCode !== null ? `the shell exited (${shell.exitCode})` : "timed out";
        reject(new Error(`${why}\nstdout: ${stdout.slice(start)}\nstderr: ${stderr}`));
      }
    }, 50);
  });
}

describe("README.md examples, in order, against a fresh npm run dev", () => {
  it("finds the examples the README promises", () => {
    expect(examples.length).toBeGreaterThanOrEqual(15);
    for (const route of ["/register", "/login", "/welcome", "/health", "/token/refresh", "/admin/users", "jwks.json"]) {
      expect(
        examples.some((example) => example.script.includes(route)),
        route,
      ).toBe(true);
    }
  });

  for (const example of examples) {
    const first = example.script.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#")) ?? "";
    it(`README.md:${example.line} ${first.slice(0, 70)}`, async () => {
      const output = await runInShell(example.script);
      if (example.expected) expect(outputDifferences(example.expected, output)).toEqual([]);
      // Any answer a block shows must not be a server error, compared or not.
      for (const answer of splitResponses(output)) expect(answer.status).not.toMatch(/^HTTP\/[\d.]+ 5/);
    });
  }

  it("started without a 'types might be out of date' warning", () => {
    expect(server.log.join("")).not.toMatch(/might be out of date/);
  });
});

describe("the README comparison", () => {
  it("fails on a field the README lacks or shows but the API does not send", () => {
    expect(jsonDifferences({ id: "x", email: "a" }, { id: "y", email: "a", refresh_token: "r" })).toEqual([
      "$.refresh_token: in the answer, not in the README",
    ]);
    expect(jsonDifferences({ ip: null }, { ip: "127.0.0.1" })).toEqual([
      "$.ip: README shows null, the API sent string",
    ]);
  });

  it("ignores ids, tokens and times but not other values; … stands for anything", () => {
    expect(
      jsonDifferences(
        { id: "1", created_at: "t", user_agent: "curl/…" },
        { id: "2", created_at: "u", user_agent: "curl/7.88.1" },
      ),
    ).toEqual([]);
    expect(jsonDifferences({ role: "user" }, { role: "admin" })).toHaveLength(1);
  });

  it("checks the status line of every answer in curl -i output", () => {
    const expected = { kind: "http" as const, status: "HTTP/1.1 200 OK", headers: [], body: "ok" };
    const output = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nok\nHTTP/1.1 403 Forbidden\r\n\r\nok\n";
    expect(outputDifferences(expected, output)).toEqual([
      "answer 2: status: README shows HTTP/1.1 200 OK, got HTTP/1.1 403 Forbidden",
    ]);
  });
});
