import { eq } from "drizzle-orm";
import { Hono } from "hono";
import * as z from "zod/mini";
import { hashPassword, MAX_PASSWORD_BYTES, passwordBytes, verifyPassword } from "../auth/passwords";
import { clientOf, newRefresh, tokenPair } from "../auth/sessions";
import { sessions } from "../db/schema";
import { revokeAll, rotate } from "../db/sessions";
import { accountJson, deleteUser, findPasswordHash, setPasswordHash, updateNames } from "../db/users";
import type { AppEnv, Db } from "../env";
import { ApiError } from "../errors";
import { name, newPassword, password, refreshTransport } from "../fields";
import { jsonBody } from "../middleware/json-body";
import { clearRefreshCookie, deliverTokens } from "../middleware/refresh-cookie";
import { requireSession } from "../middleware/require-auth";

// Only names can change here; email, role and id are not fields of this schema, so a
// body that sends them changes nothing (no mass assignment).
export const patchMeBody = z.object({
  firstName: z.optional(name("firstName")),
  lastName: z.optional(name("lastName")),
});
export const changePasswordBody = z.object({
  currentPassword: password("currentPassword"),
  newPassword: newPassword("newPassword"),
  refresh_transport: refreshTransport(),
});
export const deleteMeBody = z.object({ password: password("password") });

/** Re-checks the account password before a sensitive change; wrong is `invalid_credentials`. */
async function confirmPassword(db: Db, userId: string, password: string): Promise<void> {
  const passwordHash = await findPasswordHash(db, userId);
  const valid = passwordHash !== undefined && passwordBytes(password) <= MAX_PASSWORD_BYTES;
  if (!valid || !(await verifyPassword(password, passwordHash))) throw new ApiError("invalid_credentials");
}

export const me = new Hono<AppEnv>()
  .get("/me", requireSession, (c) => c.json(accountJson(c.var.user)))
  .patch("/me", requireSession, jsonBody(patchMeBody), async (c) => {
    const names = c.req.valid("json");
    if (names.firstName === undefined && names.lastName === undefined) {
      throw new ApiError("invalid_input", "Nothing to update: send firstName and/or lastName");
    }
    const user = await updateNames(c.var.db, c.var.user.id, names, new Date());
    if (!user) throw new ApiError("invalid_token");
    return c.json(accountJson(user));
  })
  .post("/me/password", requireSession, jsonBody(changePasswordBody), async (c) => {
    const { currentPassword, newPassword, refresh_transport } = c.req.valid("json");
    const { claims, config, db, user } = c.var;
    const sid = claims.sid ?? "";
    await confirmPassword(db, user.id, currentPassword);
    const passwordHash = await hashPassword(newPassword, config.bcryptCost);
    const now = new Date();
    const refresh = await newRefresh(config, now);
    const next = { id: crypto.randomUUID(), ...refresh, ...clientOf(c) };
    // One batch: new hash, every other session revoked, this one rotated to a new pair.
    const [, , rotated] = await db.batch([
      setPasswordHash(db, user.id, passwordHash, now),
      revokeAll(db, user.id, now, sid),
      ...rotate(db, eq(sessions.familyId, sid), next, now),
    ]);
    if (rotated.length === 0) throw new ApiError("invalid_token");
    c.header("Cache-Control", "no-store");
    return c.json(deliverTokens(c, await tokenPair(user, sid, refresh.refreshToken, config), refresh_transport));
  })
  .delete("/me", requireSession, jsonBody(deleteMeBody), async (c) => {
    const { db, user } = c.var;
    await confirmPassword(db, user.id, c.req.valid("json").password);
    await deleteUser(db, user.id);
    clearRefreshCookie(c);
    return c.body(null, 204);
  });
