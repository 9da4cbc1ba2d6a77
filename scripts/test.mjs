// `npm test`: the workerd suite (real D1, real bcrypt), then the black-box HTTP suite and
// the hostile black-box cases (both over HTTP against real `npm run dev` processes), then
// the workspace packages and examples (packages/*, examples/*), ending with one line
// "N passed, M failed".
// `--suite <name>` runs only that suite, e.g. `--suite e2e` (`npm run test:e2e`), the
// browser tests, which are not part of `npm test`.
// Other arguments go to every vitest run, e.g. `npm test -- login`.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { checkAnsweredCodes } from "./answered-codes.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const out = fileURLToPath(new URL("../test-artifacts/results/", import.meta.url));
mkdirSync(out, { recursive: true });

/** Output that says nothing about the tests: workerd's warnings about the non-ASCII header
 * values the fuzzer sends on purpose, which the Workers vitest pool writes straight to the
 * terminal, and wrangler's note that it read .dev.vars. */
const NOISE = /^(A header value for "[^"]*" contains non-ASCII characters|Using secrets defined in \.dev\.vars)/;

const all = [
  { name: "workerd", config: "vitest.config.ts" },
  { name: "http", config: "vitest.http.config.ts" },
  { name: "blackbox", config: "vitest.blackbox.config.ts" },
  { name: "e2e", config: "vitest.e2e.config.ts" },
  { name: "workspaces", config: "vitest.workspaces.config.ts" },
];
const args = process.argv.slice(2);
const at = args.indexOf("--suite");
const picked = at === -1 ? ["workerd", "http", "blackbox", "workspaces"] : args.splice(at, 2).slice(1);
const suites = all.filter((suite) => picked.includes(suite.name));
if (suites.length === 0) {
  console.error(`--suite needs one of: ${all.map((suite) => suite.name).join(", ")}`);
  process.exit(2);
}
let passed = 0;
let failed = 0;
let broken = false;
for (const suite of suites) {
  const report = `${out}${suite.name}.json`;
  rmSync(report, { force: true });
  const run = await runQuietly(
    process.execPath,
    [
      vitest,
      "run",
      "--config",
      suite.config,
      "--passWithNoTests",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
      ...args,
    ],
    {
      cwd: root,
      stdio: ["inherit", "pipe", "pipe"],
      // Vite's notice that vitest.config.ts's extensionless imports (the project's style,
      // moduleResolution "Bundler") will not suit its future native config loader: about a
      // later Vite, not about the tests. Vite's own switch turns it off.
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", VITE_CONFIG_NATIVE_IGNORE_WARNING: "true" },
    },
  );
  try {
    const results = JSON.parse(readFileSync(report, "utf8"));
    passed += results.numPassedTests;
    failed += results.numFailedTests;
    // A file that fails to load has no tests counted: count it as a failure.
    failed += results.testResults.filter(
      (file) => file.status === "failed" && file.assertionResults.length === 0,
    ).length;
    // A whole workerd run also checks each route's listed error codes against those it answered.
    if (suite.name === "workerd" && args.length === 0) {
      const problems = checkAnsweredCodes(results);
      if (problems === undefined) {
        console.error("error codes per route: no documented codes in the report (test/openapi.test.ts did not run)");
        failed += 1;
      } else if (problems.length > 0) {
        console.error(
          `error codes per route: the OpenAPI descriptions and the workerd suite disagree:\n  ${problems.join("\n  ")}`,
        );
        failed += 1;
      } else {
        console.log("error codes per route: every listed code was answered, every answered code is listed");
        passed += 1;
      }
    }
  } catch {
    broken = true;
  }
  if (run.status !== 0 && failed === 0) broken = true;
}
if (broken) failed = Math.max(failed, 1);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

/** Runs a command with its output passed through line by line, minus `NOISE`
 * (TEST_LOGS=1 keeps everything); resolves to `{ status }`. */
function runQuietly(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, options);
    const keep = (line) => process.env.TEST_LOGS === "1" || !NOISE.test(stripVTControlCharacters(line));
    const streams = [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ];
    for (const [from, to] of streams) {
      let rest = "";
      from.setEncoding("utf8");
      from.on("data", (chunk) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) if (keep(line)) to.write(`${line}\n`);
      });
      from.on("end", () => {
        if (rest && keep(rest)) to.write(rest);
      });
    }
    child.on("close", (status) => resolve({ status }));
  });
}
