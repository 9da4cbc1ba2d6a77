import * as z from "zod/mini";
import { name, newPassword, password, refreshTransport } from "../../platform/fields";
import { doc, named } from "../../platform/openapi/describe";

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
    refresh_transport: refreshTransport(),
  }),
);
export const deleteMeBody = named("DeleteMeBody", z.object({ password: password("password") }));
export const activityQuery = z.object({
  cursor: doc(
    z.optional(z.string().check(z.maxLength(200, "cursor is not valid"))),
    "`next_cursor` of the previous page",
  ),
});

/** Events per page of `GET /me/activity`. */
export const ACTIVITY_PAGE = 20;
