// @edge-auth/resource: what another Worker needs to accept edge-auth-api's OAuth access
// tokens. Framework-agnostic (Request in, Response out); `@edge-auth/resource/hono` wraps it
// as Hono middleware.
export { type ChallengeParams, challenge, errorResponse } from "./challenge";
export { metadataResponse, type ProtectedResourceMetadata, protectedResourceMetadata } from "./metadata";
export { ALGORITHMS, type Algorithm, metadataUrl, type ResourceOptions, WELL_KNOWN } from "./options";
export { type AccessToken, AccessTokenError, bearerToken, type Refusal, verifyAccessToken } from "./verify";
