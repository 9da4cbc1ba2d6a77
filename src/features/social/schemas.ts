import * as z from "zod/mini";
import type { IdentityRow } from "../../identity/queries/identities";
import { REQUIRED, text } from "../../platform/fields";
import { doc, named, timestamp, uuid } from "../../platform/openapi/describe";
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

/** An identity as `GET /me/identities` lists it. */
export const identitySchema = named(
  "Identity",
  z.object({
    id: uuid("The identity id, for DELETE /me/identities/{id}"),
    provider: doc(z.string(), "The provider id it was linked through"),
    email: doc(z.nullable(z.string()), "The email the provider gave at linking, if any (never used to match)"),
    created_at: timestamp(),
  }),
);
export const identityList = named("IdentityList", z.object({ identities: z.array(identitySchema) }));

export function identityJson(row: IdentityRow): z.infer<typeof identitySchema> {
  return { id: row.id, provider: row.provider, email: row.email, created_at: row.createdAt.toISOString() };
}

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
