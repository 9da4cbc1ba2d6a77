import * as z from "zod/mini";
import { email, name, newEmail, newPassword, password, refreshTransport } from "../../platform/fields";
import { named } from "../../platform/openapi/describe";

export const registerBody = named(
  "RegisterBody",
  z.object({
    firstName: name("firstName"),
    lastName: name("lastName"),
    email: newEmail(),
    password: newPassword("password"),
    refresh_transport: refreshTransport(),
  }),
);

export const loginBody = named(
  "LoginBody",
  z.object({
    email: email(),
    password: password("password"),
    refresh_transport: refreshTransport(),
  }),
);
