import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";
import { SETTINGS, type SettingName } from "./src/platform/settings";

/** Log lines the product writes (src/platform/log.ts, src/platform/config.ts) that tests cause on purpose. */
const EXPECTED_LOG = /^(\{"level":"(info|warn|error)"|BCRYPT_COST \d+ accepted only because ENVIRONMENT=test)/;

/** The values the tests need where they differ from a setting's default. */
const TEST_VALUES: Partial<Record<SettingName, string>> = {
  TOKEN_KEY: "test-signing-key-that-is-at-least-32-bytes-long",
  MFA_ENCRYPTION_KEY: "test-mfa-encryption-key-at-least-32-bytes",
  // Cost 4 keeps the suite fast; tests about the cost set it explicitly.
  BCRYPT_COST: "4",
  ENVIRONMENT: "test",
  WEBAUTHN_ORIGINS: "http://localhost:5173",
};

/** Every setting of src/platform/settings.ts pinned (to `TEST_VALUES`, else its default, else ""), so
 * a developer's .dev.vars cannot change what the tests see. Mail is off (its default);
 * test/email.test.ts turns it on per call. A family (`<ID>`) is read only for listed ids. */
function testSettings(): Record<string, string> {
  const plain = SETTINGS.filter((setting) => !("each" in setting));
  return Object.fromEntries(plain.map(({ name, ...setting }) => [name, TEST_VALUES[name] ?? setting.default ?? ""]));
}

/** A plugin that keeps one warning about how a dependency was packaged out of the output:
 * oauth4webapi ships `index.js.map` without the sources it names, so every run that loads it
 * would open with "Sourcemap for …/node_modules/oauth4webapi/… points to missing source
 * files". It wraps the logger the run resolved (vitest sets its own); our own files'
 * warnings, and every other one, still show. */
const quietAboutDependencyMaps: Plugin = {
  name: "quiet-about-dependency-sourcemaps",
  configResolved(config) {
    const warnOnce = config.logger.warnOnce.bind(config.logger);
    config.logger.warnOnce = (message, options) => {
      if (/^Sourcemap for "[^"]*\/node_modules\/[^"]*" points to missing source files/.test(message)) return;
      warnOnce(message, options);
    };
  },
};

// Tests run inside workerd against a real local D1 with the real migrations.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      quietAboutDependencyMaps,
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // A database nobody migrates: what plain `wrangler dev` without migrations sees.
          d1Databases: { EMPTY_DB: "empty-db" },
          bindings: { TEST_MIGRATIONS: migrations, ...testSettings() },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/http/**", "test/e2e/**", "test/blackbox/**"],
      setupFiles: ["./test/apply-migrations.ts", "./test/answered-codes.ts"],
      // The worker's own log lines (one JSON object each) and the low-cost warning are what
      // tests provoke on purpose; a failing test says what went wrong. TEST_LOGS=1 shows them.
      onConsoleLog: (line: string) => process.env.TEST_LOGS === "1" || !EXPECTED_LOG.test(line),
      // A real SMTP server (maildev) in Node, for test/email.test.ts.
      // A web server serving client ID metadata documents, for test/oauth-client-documents.test.ts.
      globalSetup: ["./test/support/mail-setup.ts", "./test/support/client-documents.ts"],
    },
  };
});
