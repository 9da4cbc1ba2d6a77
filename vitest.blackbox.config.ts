import { defineConfig } from "vitest/config";

// Hostile black-box cases, one test each, over real HTTP against `BLACKBOX_BASE_URL` (a deployment
// too) or, without it, against `npm run dev` servers started by test/blackbox/servers.ts.
export default defineConfig({
  test: {
    include: ["test/blackbox/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/blackbox/servers.ts"],
    // One file at a time, as one client would: the timing cases (a preflight answered in
    // under a second) stay meaningful, and a deployment is not flooded.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
