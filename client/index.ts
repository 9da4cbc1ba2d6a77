// The typed client moved to packages/client, published as `@edge-auth/client`
// (packages/client/README.md). This file stays so that code which imported "./client"
// from this repository keeps working: new code imports "@edge-auth/client" (another
// repository) or "packages/client/src" (this one).
export * from "../packages/client/src/index";
