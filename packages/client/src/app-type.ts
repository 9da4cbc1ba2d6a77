// The API's routes as one type, for `hc<AppType>(baseUrl)`. In this repository it is the
// worker's own type (src/worker.ts); the published package carries a standalone copy with
// every route's input and output written out (packages/client/build.mjs), so an app in
// another repository gets the same end-to-end types with only `hono` installed.
export type { AppType } from "../../../src/worker";
