import * as z from "zod/mini";
import { doc, named, timestamp, uuid } from "../platform/openapi/describe";
import type { auditEvents } from "../platform/schema";
import { ROLES } from "../platform/schema";
import { AUDIT_EVENT_TYPES, type AuditDetails } from "./audit";
import type { IdentityRow } from "./queries/identities";
import type { User } from "./queries/users";

// Response bodies of the identity core, answered by more than one feature, and their
// serializers: the user and token pair every sign-in answers (sessions.ts `signedIn`),
// the account (`accountJson`), and security events (`activityJson`, `auditJson`).

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

/** The admin's view of one user: the account, its second factors and its linked identities. */
export const adminUser = named(
  "AdminUser",
  z.object({ ...accountWithFactors.shape, identities: z.array(identitySchema) }),
);

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

/** The user as register and login answer it, in the tutorial's snake_case names. */
export function userJson(user: User) {
  return {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    created_at: user.createdAt.toISOString(),
  };
}

/** The whole account, for `/me` and the admin API. */
export function accountJson(user: User) {
  return {
    ...userJson(user),
    role: user.role,
    disabled: user.disabled,
    email_verified: user.emailVerifiedAt !== null,
    updated_at: user.updatedAt.toISOString(),
  };
}

type AuditRow = typeof auditEvents.$inferSelect;

/** An event as a user sees their own: what, when, from where, and whether they or an admin did it. */
export function activityJson(row: AuditRow) {
  return {
    id: row.id,
    type: row.type,
    time: row.time.toISOString(),
    ip: row.ip,
    user_agent: row.userAgent,
    actor: row.actorType,
  };
}

/** An event as the admin API shows it: everything recorded. */
export function auditJson(row: AuditRow) {
  return {
    ...activityJson(row),
    user_id: row.userId,
    actor_id: row.actorId,
    request_id: row.requestId,
    details: row.details ? (JSON.parse(row.details) as AuditDetails) : {},
  };
}
