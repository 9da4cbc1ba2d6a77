import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError, describe } from "../errors";

export const health = new Hono<AppEnv>().get("/health", async (c) => {
  try {
    await c.var.db.run(sql`select 1`);
  } catch (err) {
    throw new ApiError("service_unavailable", "Database is unavailable", describe(err).detail);
  }
  return c.json({ status: "ok" });
});
