// `npm test`: the workerd suite (real D1, real bcrypt) and then the black-box HTTP
// suite (real `wrangler dev` processes), ending with one line "N passed, M failed".
// Extra arguments go to both vitest runs, e.g. `npm test -- login`.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const out = fileURLToPath(new URL("../test-artifacts/results/", import.meta.url));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const suites = [
  { name: "workerd", config: "vitest.config.ts" },
  { name: "http", config: "vitest.http.config.ts" },
];
let passed = 0;
let failed = 0;
let broken = false;
for (const suite of suites) {
  const report = `${out}${suite.name}.json`;
  const run = spawnSync(
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
      ...process.argv.slice(2),
    ],
    { cwd: root, stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  try {
    const results = JSON.parse(readFileSync(report, "utf8"));
    passed += results.numPassedTests;
    failed += results.numFailedTests;
    // A file that fails to load has no tests counted: count it as a failure.
    failed += results.testResults.filter(
      (file) => file.status === "failed" && file.assertionResults.length === 0,
    ).length;
  } catch {
    broken = true;
  }
  if (run.status !== 0 && failed === 0) broken = true;
}
if (broken) failed = Math.max(failed, 1);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
