import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startDev, stopAll, waitFor } from "../support/processes";
import { jsonDifferences, outputDifferences, README_BASE, README_MAIL, readmeExamples, splitResponses } from "./readme";

// The docs' examples, run as written: README.md and every docs/*.md, each file against a
// fresh `npm run dev` of its own (its own empty D1) and one bash process fed that file's
// runnable blocks in order (so variables carry over within a file), each block's output
// compared with what the file shows after it. The conventions are in docs/development.md,
// "Docs examples are tests".

const root = fileURLToPath(new URL("../../", import.meta.url));
/** README.md, then every guide in docs/, each with its runnable examples in order. */
const guides = readdirSync(join(root, "docs"))
  .filter((name) => name.endsWith(".md"))
  .sort()
  .map((name) => `docs/${name}`);
const files = ["README.md", ...guides].map((file) => {
  const text = readFileSync(join(root, file), "utf8");
  return { file, examples: readmeExamples(text), flags: devFlags(text) };
});

/** The `--var` flags a guide tells its reader to start `npm run dev` with (a line
 * `npm run dev -- --var NAME:VALUE …`, as docs/email-login.md has): its server gets them too. */
function devFlags(text: string): string[] {
  return /^npm run dev -- (--var \S+(?: --var \S+)*)\s*$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
}

/** Scripts the docs run that use the local D1 directly: pointed at the test server's. */
const LOCAL_D1_SCRIPTS = ["admin:grant"];

/** One file's dev server (with its own D1 and mail catcher) and the bash process its blocks run in. */
class DocShell {
  private stdout = "";
  private stderr = "";
  private constructor(
    readonly server: Running,
    private readonly dir: string,
    private readonly base: string,
    private readonly mailApi: string,
    private readonly shell: ChildProcessWithoutNullStreams,
  ) {
    shell.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
    });
    shell.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    const npmWrapper = `npm() { case " ${LOCAL_D1_SCRIPTS.join(" ")} " in *" $2 "*) command npm "$@" --persist-to '${dir}';; *) command npm "$@";; esac; }`;
    shell.stdin.write(`set -e -o pipefail\n${npmWrapper}\n`);
  }

  static async start(file: string, flags: string[] = []): Promise<DocShell> {
    const dir = mkdtempSync(join(tmpdir(), "edge-auth-docs-"));
    const started: Running[] = [];
    let dev: Awaited<ReturnType<typeof startDev>>;
    try {
      dev = await startDev(started, `npm run dev (${file})`, dir, flags);
      await waitFor(dev.server, `${dev.url}/health`);
    } catch (error) {
      await stopAll(started);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const shell = spawn("bash", ["--noprofile", "--norc"], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    return new DocShell(dev.server, dir, dev.url, dev.mailApi, shell);
  }

  /** Runs `script` in the shell and resolves to what it printed on stdout. */
  run(script: string, timeoutMs = 60_000): Promise<string> {
    const marker = `__docs_block_${crypto.randomUUID()}__`;
    const start = this.stdout.length;
    this.stderr = "";
    this.shell.stdin.write(
      `${script.replaceAll(README_BASE, this.base).replaceAll(README_MAIL, this.mailApi)}\necho ${marker}\n`,
    );
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const poll = setInterval(() => {
        const at = this.stdout.indexOf(marker, start);
        if (at !== -1) {
          clearInterval(poll);
          resolve(this.stdout.slice(start, at));
        } else if (this.shell.exitCode !== null || Date.now() > deadline) {
          clearInterval(poll);
          const why = this.shell.exitCode !== null ? `the shell exited (${this.shell.exitCode})` : "timed out";
          reject(new Error(`${why}\nstdout: ${this.stdout.slice(start)}\nstderr: ${this.stderr}`));
        }
      }, 50);
    });
  }

  async stop(): Promise<void> {
    this.shell.stdin.end();
    this.shell.kill();
    await stopAll([this.server]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe("the docs' examples", () => {
  it("finds the examples the docs promise", () => {
    const all = files.flatMap(({ examples }) => examples);
    // 30 examples in the README before it was split into docs/, plus the README's own.
    expect(all.length).toBeGreaterThanOrEqual(31);
    expect(files.find(({ file }) => file === "README.md")?.examples.length).toBeGreaterThanOrEqual(1);
    for (const route of ["/register", "/login", "/welcome", "/health", "/token/refresh", "/admin/users", "jwks.json"]) {
      expect(
        all.some((example) => example.script.includes(route)),
        route,
      ).toBe(true);
    }
  });
});

for (const { file, examples, flags } of files.filter(({ examples }) => examples.length > 0)) {
  describe(`${file} examples, in order, against a fresh npm run dev`, () => {
    let docShell: DocShell | undefined;

    beforeAll(async () => {
      docShell = await DocShell.start(file, flags);
    }, 120_000);

    afterAll(async () => {
      await docShell?.stop();
    });

    for (const example of examples) {
      const first = example.script.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#")) ?? "";
      it(`${file}:${example.line} ${first.slice(0, 70)}`, async () => {
        if (!docShell) throw new Error(`no dev server for ${file}`);
        const output = await docShell.run(example.script);
        if (example.expected) expect(outputDifferences(example.expected, output)).toEqual([]);
        // Any answer a block shows must not be a server error, compared or not.
        for (const answer of splitResponses(output)) expect(answer.status).not.toMatch(/^HTTP\/[\d.]+ 5/);
      });
    }

    it("started without a 'types might be out of date' warning", () => {
      expect(docShell?.server.log.join("")).not.toMatch(/might be out of date/);
    });
  });
}

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
