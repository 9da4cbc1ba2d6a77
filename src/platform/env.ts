import type { Config } from "./config";
import type { Db } from "./db";

/** Bindings come from `wrangler types` (worker-configuration.d.ts); the variables every
 * request has are set by src/worker.ts. The variables of a signed-in request (`claims`,
 * `user`) are not here: the guards of src/identity/guards.ts add them to the routes they
 * run on, so a handler without its guard cannot read them. */
export type AppEnv = {
  Bindings: CloudflareBindings;
  Variables: {
    requestId: string;
    config: Config;
    db: Db;
  };
};
