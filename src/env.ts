import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { AccessClaims } from "./auth/tokens";
import type { Config } from "./config";

export type Db = DrizzleD1Database;

/** Bindings come from `wrangler types` (worker-configuration.d.ts); variables are set by middleware. */
export type AppEnv = {
  Bindings: CloudflareBindings;
  Variables: {
    requestId: string;
    config: Config;
    db: Db;
    /** Set by `requireAuth` on protected routes. */
    claims: AccessClaims;
  };
};
