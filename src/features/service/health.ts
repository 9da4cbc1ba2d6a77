import { getTableName, is, sql } from "drizzle-orm";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../../platform/env";
import { ApiError, describe as describeError, MISSING_TABLES_MESSAGE, missingTableDetail } from "../../platform/errors";
import { describe, named } from "../../platform/openapi/describe";
import * as schema from "../../platform/schema";

/** Every table src/platform/schema.ts declares: a database without one of them was not migrated. */
const TABLES = Object.values(schema)
  .filter((value) => is(value, SQLiteTable))
  .map((table) => getTableName(table));

export const health = new Hono<AppEnv>().get(
  "/health",
  describe({
    operationId: "getHealth",
    tag: "Service",
    summary: "Health check",
    description:
      "Answers after one query on D1 that also checks every table of the schema exists (a database the migrations never reached is 500 server_misconfigured).",
    access: "public",
    ok: { status: 200, description: "Up", json: named("Health", z.object({ status: z.literal("ok") })) },
  }),
  async (c) => {
    let present: string[];
    try {
      // One query that reaches D1 and asks which of our tables exist.
      const rows = await c.var.db.all<{ name: string }>(
        sql`select name from sqlite_master where type = 'table' and name in ${TABLES}`,
      );
      present = rows.map((row) => row.name);
    } catch (err) {
      throw new ApiError("service_unavailable", "Database is unavailable", describeError(err).detail);
    }
    const missing = TABLES.find((table) => !present.includes(table));
    if (missing) throw new ApiError("server_misconfigured", MISSING_TABLES_MESSAGE, missingTableDetail(missing));
    return c.json({ status: "ok" });
  },
);
