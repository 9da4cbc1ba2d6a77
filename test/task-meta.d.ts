// What tests leave in their meta for scripts/test.mjs (see test/answered-codes.ts).
export {};

declare module "vitest" {
  interface TaskMeta {
    /** Error answers seen in the test, "METHOD /path code". */
    answered?: string[];
    /** Set by test/openapi.test.ts: each documented route to the error codes it lists. */
    documented?: Record<string, string[]>;
  }
}
