import { defineConfig } from "vitest/config";

// Black-box tests: real `npm run dev` servers on loopback, called over HTTP from Node.
export default defineConfig({
  test: {
    include: ["test/http/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/http/servers.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
