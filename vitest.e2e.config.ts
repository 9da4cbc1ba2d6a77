import { defineConfig } from "vitest/config";

// Browser tests: real headless Chromium loads the demo page from two origins and calls a
// real `npm run demo` API across origins. Run with `npm run test:e2e`.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/e2e/servers.ts", "./test/e2e/sites.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
