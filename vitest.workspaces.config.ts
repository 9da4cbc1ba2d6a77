import { defineConfig } from "vitest/config";

// The workspace packages and examples, from Node: the unit tests of packages/*, and each
// example run the way its README says (examples/mcp-server under `wrangler dev`).
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
