import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import { ConfigError, getConfig } from "../../platform/config";
import { HOUSEKEEPING_BATCH, housekeepingDeletes } from "./queries";

/** Rounds of batched deletes per run: at most this many D1 round trips, and
 * `HOUSEKEEPING_BATCH` rows (session families) per table per round. */
export const HOUSEKEEPING_ROUNDS = 4;

/** Rows removed per table by one housekeeping run, and whether some are left for the next. */
export type Housekeeping = { removed: Record<string, number>; more: boolean };

/**
 * Deletes what no request can use any more (see src/features/housekeeping/queries.ts), in bounded
 * batches, and logs one JSON line with the counts. Runs from the Cron Trigger in
 * wrangler.toml; `now` is the trigger's scheduled time.
 * @throws ConfigError when the deployment's settings are invalid (nothing is deleted)
 */
export async function housekeep(env: CloudflareBindings, now: Date): Promise<Housekeeping> {
  const config = getConfig(env);
  const db = drizzle(env.DB);
  const cutoffs = {
    now,
    refreshTtlMs: config.refreshTtlSeconds * 1000,
    auditRetentionMs: config.auditRetentionSeconds * 1000,
  };
  const removed: Record<string, number> = {};
  let pending = Object.keys(housekeepingDeletes(db, cutoffs));
  for (const table of pending) removed[table] = 0;
  for (let round = 0; round < HOUSEKEEPING_ROUNDS && pending.length > 0; round++) {
    const deletes = housekeepingDeletes(db, cutoffs);
    const statements = pending.map((table) => deletes[table] as BatchItem<"sqlite">);
    const results = await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    const next: string[] = [];
    pending.forEach((table, i) => {
      const changes = (results[i] as D1Result).meta.changes;
      removed[table] = (removed[table] ?? 0) + changes;
      // A full batch may have left more behind; a short one emptied the table's backlog.
      if (changes >= HOUSEKEEPING_BATCH) next.push(table);
    });
    pending = next;
  }
  const result = { removed, more: pending.length > 0 };
  console.log(JSON.stringify({ level: "info", event: "housekeeping", scheduled_time: now.toISOString(), ...result }));
  return result;
}

/** The Workers `scheduled` handler: housekeeping, with a bad configuration logged, not thrown. */
export const scheduled: ExportedHandlerScheduledHandler<CloudflareBindings> = async (controller, env) => {
  try {
    await housekeep(env, new Date(controller.scheduledTime));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(JSON.stringify({ level: "error", event: "housekeeping_skipped", reason: err.message }));
  }
};
