import { eq } from "drizzle-orm";
import { Hono } from "hono";
import * as z from "zod/mini";
import { checkPassword, hashPassword } from "../auth/passwords";
import { clientOf, newRefresh, tokenPair } from "../auth/sessions";
import type { Db } from "../db/client";
import { sessions } from "../db/schema";
import { revokeAll, revokeFamilyBefore, rotate } from "../db/sessions";
import { accountJson, deleteUser, findPasswordHash, setPasswordHash, updateNames } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { name, newPassword, password } from "../fields";
import { jsonBody } from "../middleware/json-body";
import { requireSession } from "../middleware/require-auth";
import { account, describe, named, tokenPair as tokenPairJson } from "../openapi";

// Only names can change here; email, role and id are not fields of this schema, so a
// body that sends them changes nothing (no mass assignment).
export const patchMeBody = named(
  "PatchMeBody",
  z.object({
    firstName: z.optional(name("firstName")),
    lastName: z.optional(name("lastName")),
  }),
);
export const changePasswordBody = named(
  "ChangePasswordBody",
  z.object({
    currentPassword: password("currentPassword"),
    newPassword: newPassword("newPassword"),
  }),
);
export const deleteMeBody = named("DeleteMeBody", z.object({ password: password("password") }));

/** Re-checks the account password before a sensitive change; wrong is `invalid_credentials`.
 * No rehash here: the hash is replaced (password change) or deleted (account deletion). */
async function confirmPassword(db: Db, userId: string, password: string, cost: number): Promise<void> {
  const { valid } = await checkPassword(password, await findPasswordHash(db, userId), cost);
  if (!valid) throw new ApiError("invalid_credentials");
}

export const me = new Hono<AppEnv>()
  .get(
    "/me",
    describe({
      operationId: "getMe",
      tag: "Account",
      summary: "The caller's account",
      access: "session",
      ok: { status: 200, description: "The account", json: account },
    }),
    requireSession,
    (c) => c.json(accountJson(c.var.user)),
  )
  .patch(
    "/me",
    describe({
      operationId: "updateMe",
      tag: "Account",
      summary: "Change the caller's names",
      description:
        "Register's rules for names. Anything else in the body (email, role, id) is ignored; nothing to change is 400.",
      access: "session",
      ok: { status: 200, description: "The updated account", json: account },
      errors: ["invalid_input"],
    }),
    requireSession,
    jsonBody(patchMeBody),
    async (c) => {
      const names = c.req.valid("json");
      if (names.firstName === undefined && names.lastName === undefined) {
        throw new ApiError("invalid_input", "Nothing to update: send firstName and/or lastName");
      }
      const user = await updateNames(c.var.db, c.var.user.id, names, new Date());
      if (!user) throw new ApiError("invalid_token");
      return c.json(accountJson(user));
    },
  )
  .post(
    "/me/password",
    describe({
      operationId: "changePassword",
      tag: "Account",
      summary: "Change the password",
      description:
        "Revokes every other session and answers a fresh token pair for this one. A wrong current password is 400 invalid_credentials.",
      access: "session",
      ok: { status: 200, description: "A fresh token pair", json: tokenPairJson, cacheControl: "no-store" },
      errors: ["invalid_input", "invalid_credentials"],
    }),
    requireSession,
    jsonBody(changePasswordBody),
    async (c) => {
      const { currentPassword, newPassword } = c.req.valid("json");
      const { claims, config, db, user } = c.var;
      const sid = claims.sid ?? "";
      await confirmPassword(db, user.id, currentPassword, config.bcryptCost);
      const passwordHash = await hashPassword(newPassword, config.bcryptCost);
      const now = new Date();
      const refresh = await newRefresh(config, now);
      const next = { id: crypto.randomUUID(), ...refresh, ...clientOf(c) };
      // One batch: new hash, every other session revoked, this one rotated to a new pair,
      // and every earlier refresh token of this one revoked (none is reusable).
      const [, , rotated] = await db.batch([
        setPasswordHash(db, user.id, passwordHash, now),
        revokeAll(db, user.id, now, sid),
        ...rotate(db, eq(sessions.familyId, sid), next, now),
        revokeFamilyBefore(db, sid, next.id, now),
      ]);
      if (rotated.length === 0) throw new ApiError("invalid_token");
      c.header("Cache-Control", "no-store");
      return c.json(await tokenPair(user, sid, refresh.refreshToken, config));
    },
  )
  .delete(
    "/me",
    describe({
      operationId: "deleteMe",
      tag: "Account",
      summary: "Delete the account",
      description: "The user and all its sessions are gone; the email can register again.",
      access: "session",
      ok: { status: 204, description: "Deleted" },
      errors: ["invalid_input", "invalid_credentials"],
    }),
    requireSession,
    jsonBody(deleteMeBody),
    async (c) => {
      const { config, db, user } = c.var;
      await confirmPassword(db, user.id, c.req.valid("json").password, config.bcryptCost);
      await deleteUser(db, user.id);
      return c.body(null, 204);
    },
  );
