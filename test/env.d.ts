declare namespace Cloudflare {
  // Test-only bindings, set in vitest.config.ts.
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    ENVIRONMENT: string;
    /** A D1 database without any migration applied. */
    EMPTY_DB: D1Database;
  }
}
