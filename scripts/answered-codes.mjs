// The error codes each route lists in its OpenAPI description, against the codes it
// answered in the workerd suite. test/openapi.test.ts leaves the listed codes in its
// meta (`documented`), test/answered-codes.ts every test's answers (`answered`); both
// reach Node in vitest's JSON report, which scripts/test.mjs hands to `checkAnsweredCodes`.

/** Codes every route lists that no route test can reach through the route itself: a
 * deployment's broken config and an unexpected exception are app-wide (test/config.test.ts
 * and test/health.test.ts cover them once), and a D1 outage is simulated only for /health. */
const APP_WIDE = new Set(["internal", "server_misconfigured", "service_unavailable"]);

/**
 * Compares what routes list with what they answered. Returns one line per problem (empty
 * when all agree), or `undefined` when the report lacks the documented codes (a filtered
 * run without test/openapi.test.ts), in which case nothing can be compared.
 * @param {{ testResults: { name: string, assertionResults: { fullName: string, meta?: { answered?: string[], documented?: Record<string, string[]> } }[] }[] }} report
 */
export function checkAnsweredCodes(report) {
  let documented;
  /** "METHOD /path code" -> the first test that saw it. */
  const answered = new Map();
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      documented ??= test.meta?.documented;
      for (const entry of test.meta?.answered ?? []) {
        if (!answered.has(entry)) answered.set(entry, `${file.name.replace(/^.*\/test\//, "test/")}: ${test.fullName}`);
      }
    }
  }
  if (!documented) return undefined;
  const problems = [];
  for (const [entry, test] of answered) {
    const [method, path, code] = entry.split(" ");
    const route = `${method} ${path}`;
    if (!documented[route]) problems.push(`${route} has no OpenAPI description, yet answered ${code} in "${test}"`);
    else if (!documented[route].includes(code)) {
      problems.push(`${route} answered ${code} in "${test}", but its describe() does not list ${code}`);
    }
  }
  for (const [route, codes] of Object.entries(documented)) {
    for (const code of codes) {
      if (!APP_WIDE.has(code) && !answered.has(`${route} ${code}`)) {
        problems.push(`${route} lists ${code}, but no workerd test saw it answer ${code}`);
      }
    }
  }
  return problems.sort();
}
