import * as z from "zod/mini";
import { signedInJson, userShape } from "../../identity/schemas";
import { email, name, newEmail, newPassword, password, REQUIRED, refreshTransport, text } from "../../platform/fields";
import { doc, named, timestamp } from "../../platform/openapi/describe";

/** The account the /docs examples make and sign in with ("Try it out" on a fresh server). */
const EXAMPLE = { email: "ada@example.com", password: "correct horse battery staple" };

export const registerBody = named(
  "RegisterBody",
  doc(
    z.object({
      firstName: name("firstName"),
      lastName: name("lastName"),
      email: newEmail(),
      password: newPassword("password"),
      refresh_transport: refreshTransport(),
    }),
    { examples: [{ firstName: "Ada", lastName: "Lovelace", ...EXAMPLE }] },
  ),
);

export const loginBody = named(
  "LoginBody",
  doc(
    z.object({
      email: email(),
      password: password("password"),
      refresh_transport: refreshTransport(),
    }),
    { examples: [EXAMPLE] },
  ),
);

/** POST /login/exchange: the one-time code a redirect brought back (`code=`). Any string;
 * one that is not a live code is 400 `invalid_code`, never `invalid_input`. */
export const exchangeBody = named(
  "ExchangeBody",
  z.object({
    code: text("code").check(z.minLength(1, REQUIRED)),
    refresh_transport: refreshTransport(),
  }),
);

/** What POST /register answers: the user and its token pair, or under
 * REQUIRE_EMAIL_VERIFICATION the user alone (`userJson`), who signs in once verified. */
export const registeredJson = named(
  "Registered",
  z.union([signedInJson, named("RegisteredUser", z.object({ ...userShape, created_at: timestamp() }))]),
);
