import { sql } from "drizzle-orm";
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../env";
import { ApiError, describe as describeError } from "../errors";
import { describe, named } from "../openapi";

export const health = new Hono<AppEnv>().get(
  "/health",
  describe({
    operationId: "getHealth",
    tag: "Service",
    summary: "Health check",
    description: "Answers after a `select 1` on D1.",
    access: "public",
    ok: { status: 200, description: "Up", json: named("Health", z.object({ status: z.literal("ok") })) },
  }),
  async (c) => {
    try {
      await c.var.db.run(sql`select 1`);
    } catch (err) {
      throw new ApiError("service_unavailable", "Database is unavailable", describeError(err).detail);
    }
    return c.json({ status: "ok" });
  },
);
