import * as z from "zod/mini";
import { identitySchema } from "../../identity/schemas";
import { REQUIRED, text } from "../../platform/fields";
import { doc, named } from "../../platform/openapi/describe";
import { MAX_REDIRECT_LENGTH } from "../../platform/redirects";

/** `GET /login/social`: the providers a sign-in page offers. */
export const providerList = named(
  "SocialProviders",
  z.object({
    providers: z.array(
      z.object({
        id: doc(z.string(), "The provider id: GET /login/social/{id}"),
        name: doc(z.string(), "What a button shows: `Sign in with <name>`"),
      }),
    ),
  }),
);

export const identityList = named("IdentityList", z.object({ identities: z.array(identitySchema) }));

/** `POST /me/identities/:provider`. */
export const linkBody = named(
  "LinkIdentityBody",
  z.object({
    redirect_to: doc(
      text("redirect_to").check(z.minLength(1, REQUIRED), z.maxLength(MAX_REDIRECT_LENGTH, "redirect_to is too long")),
      "Where the browser returns after the provider, with `linked=<provider>` or `error=<code>`: an absolute URL on an origin of SOCIAL_REDIRECT_ORIGINS",
    ),
  }),
);
export const authorizeUrlJson = named(
  "LinkIdentityStart",
  z.object({
    authorize_url: doc(
      z.string(),
      "Send the browser here (a top-level navigation, not fetch): this API sets the trip's cookie and redirects to the provider. Works once, within 10 minutes",
    ),
  }),
);
