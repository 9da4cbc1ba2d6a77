import type { User } from "../identity/queries/users";
import type { AccessClaims } from "../identity/tokens";
import type { Config } from "./config";
import type { Db } from "./db";

/** Bindings come from `wrangler types` (worker-configuration.d.ts); variables are set by middleware. */
export type AppEnv = {
  Bindings: CloudflareBindings;
  Variables: {
    requestId: string;
    config: Config;
    db: Db;
    /** Set by `requireAuth` and `requireSession` on protected routes. */
    claims: AccessClaims;
    /** Set by `requireSession`: the account behind a live session. */
    user: User;
  };
};
