declare namespace Cloudflare {
  // Test-only bindings, set in vitest.config.ts.
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    ENVIRONMENT: string;
    /** `"true"` wraps D1 to count round trips per request (src/platform/d1-counting.ts); unset in production. */
    D1_COUNT?: string;
    /** A D1 database without any migration applied. */
    EMPTY_DB: D1Database;
  }
}
