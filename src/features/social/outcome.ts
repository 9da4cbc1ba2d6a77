// What a trip to a provider ends in: who signed in, or the `error=` code to send back.

/** The `error=` codes a callback can redirect with (docs/social-login.md). */
export const CALLBACK_ERRORS = [
  "invalid_state",
  "access_denied",
  "invalid_id_token",
  "provider_error",
  "account_exists",
  "account_disabled",
  "email_required",
  "identity_in_use",
] as const;
export type CallbackError = (typeof CALLBACK_ERRORS)[number];

/** A failed callback: `code` goes to the app, `detail` (never the provider's raw text
 * to the app) to the log. */
export class SocialFailure extends Error {
  constructor(
    readonly code: CallbackError,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** Who signed in, as the provider vouched for it. */
export type ProviderIdentity = {
  issuer: string;
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  givenName: string | undefined;
  familyName: string | undefined;
  name: string | undefined;
};

export const USER_AGENT = "edge-auth-api (social sign-in)";

/** `value` as a boolean claim: Apple sends `"true"`/`"false"` strings. */
export const truthy = (value: unknown) => value === true || value === "true";
export const claim = (value: unknown) => (typeof value === "string" && value.trim() !== "" ? value : undefined);
