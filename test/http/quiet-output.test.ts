import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";

// The README says `npm test` prints progress and failures only, and names the EBADENGINE
// warnings `npm install` prints: both checked against what the tools really print.

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("npm test's own output", () => {
  it("has no Sourcemap, EBADENGINE or Vite config warnings (a small workerd run through scripts/test.mjs)", () => {
    const run = spawnSync(process.execPath, ["scripts/test.mjs", "--suite", "workerd", "health"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, TEST_LOGS: "" },
      timeout: 240_000,
    });
    const output = stripVTControlCharacters(`${run.stdout}${run.stderr}`);
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(output).not.toMatch(/Sourcemap/);
    expect(output).not.toMatch(/EBADENGINE/);
    expect(output).not.toMatch(/^\(!\)/m);
    expect(output).not.toMatch(/warn/i);
  }, 240_000);
});

describe("the README's EBADENGINE warnings", () => {
  it("are the ones npm ci prints on this Node, by count and by name", () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-auth-engines-"));
    try {
      // The manifests and the lockfile as committed: what a fresh clone installs.
      const files = ["package.json", "package-lock.json", "packages", "examples", "bench"];
      const archive = execFileSync("git", ["archive", "HEAD", ...files], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
      execFileSync("tar", ["-x", "-C", dir], { input: archive });
      const run = spawnSync(
        "npm",
        ["ci", "--dry-run", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
        { cwd: dir, encoding: "utf8", timeout: 240_000, env: { ...process.env, npm_config_update_notifier: "false" } },
      );
      const printed = [...`${run.stdout}${run.stderr}`.matchAll(/EBADENGINE\s+package: '(.+)@[^@']+'/g)].map(
        (m) => m[1],
      );
      const readme = readFileSync(join(root, "README.md"), "utf8");
      const paragraph = readme.slice(
        readme.indexOf("`npm install`\nprints"),
        readme.indexOf("On Node 22 the warnings go away"),
      );
      const words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
      const nodeMajor = Number(process.versions.node.split(".")[0]);
      if (nodeMajor >= 22) {
        expect(printed).toEqual([]);
        return;
      }
      expect(paragraph).toContain(`prints ${words[printed.length]} \`EBADENGINE\` warnings`);
      for (const name of printed) expect(paragraph).toContain(`\`${name}\``);
      // Every package the paragraph names in backticks (the test plugin is named as the
      // reason, not as a warning) is one npm warns about.
      const named = [...paragraph.matchAll(/`([@a-z][\w./-]*)`/g)].map((m) => m[1]);
      expect(new Set(printed)).toEqual(new Set(named.filter((name) => name !== "@cloudflare/vitest-plugin")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
