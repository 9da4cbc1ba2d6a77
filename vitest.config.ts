import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Log lines the product writes (src/log.ts, src/config.ts) that tests cause on purpose. */
const EXPECTED_LOG = /^(\{"level":"(info|warn|error)"|BCRYPT_COST \d+ accepted only because ENVIRONMENT=test)/;

// Tests run inside workerd against a real local D1 with the real migrations.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // A database nobody migrates: what plain `wrangler dev` without migrations sees.
          d1Databases: { EMPTY_DB: "empty-db" },
          bindings: {
            TEST_MIGRATIONS: migrations,
            TOKEN_KEY: "test-signing-key-that-is-at-least-32-bytes-long",
            // Cost 4 keeps the suite fast; tests about the cost set it explicitly.
            BCRYPT_COST: "4",
            ENVIRONMENT: "test",
            // Pinned so a developer's .dev.vars cannot change what the tests see.
            TOKEN_TTL: "5h",
            REFRESH_TTL: "30d",
            REFRESH_REUSE_INTERVAL: "10s",
            CORS_ORIGINS: "*",
            ALLOW_QUERY_TOKEN: "false",
            JWT_ALG: "HS256",
            JWT_ISSUER: "",
            JWT_AUDIENCE: "",
            CORS_CREDENTIALS: "false",
            LOCKOUT_AFTER: "5",
            LOCKOUT_BASE: "1m",
            LOCKOUT_MAX: "1h",
            AUDIT_RETENTION: "90d",
            // Mail off by default; test/email.test.ts turns it on per call.
            MAIL_TRANSPORT: "none",
            MAIL_FROM: "",
            APP_NAME: "edge-auth-api",
            PUBLIC_URL: "",
            APP_URL: "",
            SMTP_URL: "",
            MAIL_COOLDOWN: "60s",
            REQUIRE_EMAIL_VERIFICATION: "false",
            MFA_ENCRYPTION_KEY: "test-mfa-encryption-key-at-least-32-bytes",
            WEBAUTHN_RP_ID: "localhost",
            WEBAUTHN_RP_NAME: "",
            WEBAUTHN_ORIGINS: "http://localhost:5173",
            COOKIE_SAMESITE: "Lax",
            COOKIE_DOMAIN: "",
            COOKIE_PARTITIONED: "false",
          },
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
      globalSetup: ["./test/support/mail-setup.ts"],
    },
  };
});
