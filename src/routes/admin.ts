import { Hono } from "hono";
import * as z from "zod/mini";
import { deleteAllFactors, findFactors } from "../db/mfa";
import { retireSingleUse } from "../db/single-use";
import { accountJson, deleteUserGuarded, findUser, listUsers, updateAccess } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { log } from "../log";
import { jsonBody } from "../middleware/json-body";
import { requireRole } from "../middleware/require-auth";

export const listUsersQuery = z.object({
  limit: z.optional(z.string().check(z.regex(/^(100|[1-9][0-9]?)$/, "limit must be a whole number from 1 to 100"))),
  cursor: z.optional(z.string().check(z.maxLength(1024, "cursor is not valid"))),
  email: z.optional(z.string().check(z.maxLength(254, "email prefix must be at most 254 characters"))),
});

export const accessBody = z.object({
  role: z.optional(z.enum(["user", "admin"], { error: 'role must be "user" or "admin"' })),
  disabled: z.optional(z.boolean({ error: "disabled must be true or false" })),
});

/** Cursors are opaque to clients: the last email of a page, base64url. */
function encodeCursor(email: string): string {
  const bytes = new TextEncoder().encode(email);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeCursor(cursor: string): string {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
  } catch {
    throw new ApiError("invalid_input", "cursor is not valid");
  }
}

/** Reads query parameters through `schema`; a failure is 400 `invalid_input`. */
function parseQuery<S extends z.ZodMiniType>(schema: S, query: Record<string, string>): z.output<S> {
  const result = z.safeParse(schema, query);
  if (!result.success) throw new ApiError("invalid_input", result.error.issues[0]?.message);
  return result.data;
}

/** The admin API. Every route needs an admin session that is live in D1 right now. */
export const admin = new Hono<AppEnv>()
  .use("/admin/*", requireRole("admin"))
  .get("/admin/users", async (c) => {
    const query = parseQuery(listUsersQuery, c.req.query());
    const { cursor, email } = query;
    const limit = Number(query.limit ?? 20);
    const prefix = email?.trim().normalize("NFC").toLowerCase() || undefined;
    const afterEmail = cursor === undefined ? undefined : decodeCursor(cursor);
    // One row more than asked tells whether there is a next page.
    const rows = await listUsers(c.var.db, { limit: limit + 1, afterEmail, prefix });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json({
      users: page.map(accountJson),
      next_cursor: rows.length > limit && last ? encodeCursor(last.email) : null,
    });
  })
  .get("/admin/users/:id", async (c) => {
    const user = await findUser(c.var.db, c.req.param("id"));
    if (!user) throw new ApiError("not_found", "No such user");
    return c.json({ ...accountJson(user), mfa: await findFactors(c.var.db, user.id) });
  })
  .patch("/admin/users/:id", jsonBody(accessBody), async (c) => {
    const change = c.req.valid("json");
    if (change.role === undefined && change.disabled === undefined) {
      throw new ApiError("invalid_input", "Nothing to update: send role and/or disabled");
    }
    const id = c.req.param("id");
    const user = await updateAccess(c.var.db, id, change, new Date());
    if (user) return c.json(accountJson(user));
    if (await findUser(c.var.db, id)) throw new ApiError("last_admin");
    throw new ApiError("not_found", "No such user");
  })
  .delete("/admin/users/:id/mfa", async (c) => {
    const id = c.req.param("id");
    const { db } = c.var;
    if (!(await findUser(db, id))) throw new ApiError("not_found", "No such user");
    await db.batch([...deleteAllFactors(db, id), retireSingleUse(db, id, "mfa_login", new Date())]);
    // Recorded: who removed whose factors (a user who lost their device).
    log(c, "warn", "mfa_reset", { admin_id: c.var.user.id, user_id: id });
    return c.body(null, 204);
  })
  .delete("/admin/users/:id", async (c) => {
    const id = c.req.param("id");
    if (await deleteUserGuarded(c.var.db, id)) return c.body(null, 204);
    if (await findUser(c.var.db, id)) throw new ApiError("last_admin");
    throw new ApiError("not_found", "No such user");
  });
