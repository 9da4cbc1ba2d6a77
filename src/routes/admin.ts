import { Hono } from "hono";
import { z } from "zod";
import { accountJson, deleteUserGuarded, findUser, listUsers, updateAccess } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { jsonBody } from "../middleware/json-body";
import { requireRole } from "../middleware/require-auth";

const MAX_PAGE = 100;

export const listQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, "limit must be a whole number from 1 to 100")
    .transform(Number)
    .refine((limit) => limit >= 1 && limit <= MAX_PAGE, "limit must be a whole number from 1 to 100")
    .optional(),
  cursor: z.string().max(1024, "cursor is not valid").optional(),
  email: z.string().max(254, "email prefix must be at most 254 characters").optional(),
});

export const accessBody = z.object({
  role: z.enum(["user", "admin"], { error: 'role must be "user" or "admin"' }).optional(),
  disabled: z.boolean({ error: "disabled must be true or false" }).optional(),
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
function parseQuery<S extends z.ZodType>(schema: S, query: Record<string, string>): z.output<S> {
  const result = schema.safeParse(query);
  if (!result.success) throw new ApiError("invalid_input", result.error.issues[0]?.message);
  return result.data;
}

/** The admin API. Every route needs an admin session that is live in D1 right now. */
export const admin = new Hono<AppEnv>()
  .use("/admin/*", requireRole("admin"))
  .get("/admin/users", async (c) => {
    const { limit = 20, cursor, email } = parseQuery(listQuery, c.req.query());
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
    return c.json(accountJson(user));
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
  .delete("/admin/users/:id", async (c) => {
    const id = c.req.param("id");
    if (await deleteUserGuarded(c.var.db, id)) return c.body(null, 204);
    if (await findUser(c.var.db, id)) throw new ApiError("last_admin");
    throw new ApiError("not_found", "No such user");
  });
