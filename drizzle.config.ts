import { defineConfig } from "drizzle-kit";

// Generates SQL only; `wrangler d1 migrations apply` applies it (locally, remotely, in tests).
export default defineConfig({
  dialect: "sqlite",
  schema: ["./src/platform/schema.ts", "./src/platform/schema-oauth.ts"],
  out: "./migrations",
});
