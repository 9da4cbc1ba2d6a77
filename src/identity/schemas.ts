import * as z from "zod/mini";
import { doc, named, timestamp, uuid } from "../platform/openapi/describe";
import { ROLES } from "../platform/schema";
import { AUDIT_EVENT_TYPES } from "./audit";

// Response bodies of the identity core, answered by more than one feature: the user and
// token pair every sign-in answers (sessions.ts `signedIn`), the account (queries/users.ts
// `accountJson`), and security events (audit.ts `activityJson`, `auditJson`).

export const userShape = {
  id: uuid("The user id"),
  first_name: z.string(),
  last_name: z.string(),
  email: doc(z.string(), {
    format: "email",
    description: "Trimmed, NFC-normalized, lowercase; an internationalized domain in its ASCII form",
  }),
};

export const tokenPairShape = {
  token: doc(z.string(), "Access token: a JWT signed with JWT_ALG, valid for TOKEN_TTL"),
  refresh_token: z.optional(
    doc(
      z.string(),
      'Opaque, single-use: trade it at POST /token/refresh before REFRESH_TTL. Absent with `refresh_transport: "cookie"`: it is then in the HttpOnly `__Secure-refresh_token` cookie (Path=/token)',
    ),
  ),
  expires_in: doc(z.int().check(z.positive()), "Lifetime of `token` in seconds"),
};

export const tokenPair = named("TokenPair", z.object(tokenPairShape));

/** What register and every kind of login answer (src/identity/sessions.ts `signedIn`). */
export const signedInJson = named("SignedIn", z.object({ ...userShape, ...tokenPairShape, created_at: timestamp() }));

export const account = named(
  "Account",
  z.object({
    ...userShape,
    created_at: timestamp(),
    role: z.enum(ROLES),
    disabled: doc(z.boolean(), "A disabled user cannot log in or refresh"),
    email_verified: doc(z.boolean(), "Whether the owner proved the address with a mailed link"),
    updated_at: timestamp(),
  }),
);

/** The enrolled second factors of an account (src/identity/queries/factors.ts `summary`). */
const factors = doc(
  z.object({
    totp: doc(z.boolean(), "TOTP is confirmed and required at login"),
    passkeys: doc(z.int().check(z.nonnegative()), "Registered passkeys"),
    recovery_codes: doc(z.int().check(z.nonnegative()), "Unused recovery codes"),
  }),
  "The enrolled second factors; never their secrets",
);

export const accountWithFactors = named("AccountWithFactors", z.object({ ...account.shape, mfa: factors }));

/** One security event as its user sees it (GET /me/activity). */
export const activity = z.object({
  id: uuid("The event id"),
  type: z.enum(AUDIT_EVENT_TYPES),
  time: timestamp(),
  ip: doc(z.nullable(z.string()), "From CF-Connecting-IP only; null under wrangler dev"),
  user_agent: doc(z.nullable(z.string()), "At most 256 characters"),
  actor: doc(z.enum(["user", "admin", "system"]), "Who did it: the user, an admin, or the system"),
});

export const nextCursor = () =>
  doc(z.nullable(z.string()), "Pass back as `cursor` for the next page; null on the last");

export const activityPage = named("ActivityPage", z.object({ events: z.array(activity), next_cursor: nextCursor() }));
