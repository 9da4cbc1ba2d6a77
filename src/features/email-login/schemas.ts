import * as z from "zod/mini";
import { email, REQUIRED, refreshTransport, text } from "../../platform/fields";
import { doc, named } from "../../platform/openapi/describe";

/** POST /login/email. `redirect_to` is checked against SOCIAL_REDIRECT_ORIGINS by the
 * route (400 `invalid_redirect`), not here. */
export const emailLoginBody = named(
  "EmailLoginBody",
  z.object({
    email: email(),
    redirect_to: z.optional(
      doc(
        text("redirect_to"),
        "Where the mailed link returns with `code=` for POST /login/exchange: an absolute URL on an origin of SOCIAL_REDIRECT_ORIGINS. Required with EMAIL_LOGIN=link; with `both`, leaving it out mails the code alone; ignored with `code`",
      ),
    ),
  }),
);

/** The one answer of POST /login/email, whatever the address. */
export const emailLoginSent = named(
  "EmailLoginSent",
  z.object({ sent: doc(z.literal(true), "Always true: whether a mail went out is not said") }),
);
export const SENT = { sent: true } as const;

/** POST /login/email/verify. Any string as `code`: one that is not the live code is 400
 * `invalid_code` (and counts as a wrong try), never `invalid_input`. */
export const emailCodeBody = named(
  "EmailCodeBody",
  z.object({
    email: email(),
    code: doc(text("code").check(z.minLength(1, REQUIRED)), "The 6 digits from the mail"),
    refresh_transport: refreshTransport(),
  }),
);

/** What the link page's form posts to POST /login/email/link. */
export const emailLinkForm = named(
  "EmailLinkForm",
  z.object({ token: doc(z.string(), "The link's token, as the page's form carries it") }),
);
