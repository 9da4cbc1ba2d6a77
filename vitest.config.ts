import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd against a real local D1 with the real migrations.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            TOKEN_KEY: "test-signing-key-that-is-at-least-32-bytes-long",
            // Cost 4 keeps the suite fast; tests about the cost set it explicitly.
            BCRYPT_COST: "4",
            ENVIRONMENT: "test",
            // Pinned so a developer's .dev.vars cannot change what the tests see.
            TOKEN_TTL: "5h",
            REFRESH_TTL: "30d",
            CORS_ORIGINS: "*",
            ALLOW_QUERY_TOKEN: "false",
            JWT_ALG: "HS256",
            JWT_ISSUER: "",
            JWT_AUDIENCE: "",
            CORS_CREDENTIALS: "false",
            LOCKOUT_AFTER: "5",
            LOCKOUT_BASE: "1m",
            LOCKOUT_MAX: "1h",
            COOKIE_SAMESITE: "Lax",
            COOKIE_DOMAIN: "",
            COOKIE_PARTITIONED: "false",
            PUBLIC_URL: "",
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/http/**", "test/e2e/**"],
      setupFiles: ["./test/apply-migrations.ts"],
    },
  };
});
