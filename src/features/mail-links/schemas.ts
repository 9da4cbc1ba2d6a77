import * as z from "zod/mini";
import { email, newEmail, newPassword, password, REQUIRED, text } from "../../platform/fields";
import { doc, named } from "../../platform/openapi/describe";
/** The answer of a route that mails a link, the same whatever the outcome. */
export const accepted = named(
  "Accepted",
  z.object({ message: doc(z.string(), "For people; the same whatever the outcome") }),
);

/** The token of a mailed link, as its page posts it; whether it is one is for D1 to say. */
export const linkToken = () => text("token").check(z.minLength(1, REQUIRED));

export const forgotBody = named("ForgotBody", z.object({ email: email() }));
export const resetBody = named("ResetBody", z.object({ token: linkToken(), newPassword: newPassword("newPassword") }));

/** The one answer of POST /password/forgot, whatever the address. */
export const FORGOT_ACCEPTED = {
  message: "If an account uses this address, a link to reset its password is on its way.",
} as const;

export const verifyBody = named("VerifyBody", z.object({ token: linkToken() }));
/** The new address follows register's rules (src/platform/fields.ts newEmail). */
export const changeEmailBody = named(
  "ChangeEmailBody",
  z.object({ newEmail: newEmail("newEmail"), password: password("password") }),
);
export const confirmChangeBody = named("ConfirmChangeBody", z.object({ token: linkToken() }));

export const VERIFY_SENT = { message: "A link to confirm your email address is on its way." } as const;
export const CHANGE_SENT = {
  message: "If the new address can be used, a link to confirm it is on its way there.",
} as const;
