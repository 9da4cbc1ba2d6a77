import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** What an account may do; `admin` reaches /admin/*. */
export const ROLES = ["user", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** The `password_hash` of an account without a password (never a bcrypt hash). */
export const NO_PASSWORD = "";

/** Registered accounts. `email` is stored normalized (trimmed, NFC, lowercased), so
 * the UNIQUE index alone decides duplicates in any letter case. */
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  firstName: text("first_name").notNull(),
  lastName: text("last_name").notNull(),
  /** bcrypt hash, or `""` (NO_PASSWORD) for an account a social sign-in made that never
   * set a password: a password login of it fails as a wrong password would, after the
   * same bcrypt work (src/identity/passwords.ts); a reset sets one. Not a nullable column:
   * SQLite can only drop a NOT NULL by rebuilding the table, and with D1's foreign keys
   * on, dropping the old `users` cascades into every table that references it (measured:
   * drizzle-kit's rebuild deleted every session), see docs/social-login.md. */
  passwordHash: text("password_hash").notNull(),
  /** The hash came from `npm run import:users` (the Express tutorial's bcryptjs, which cut
   * passwords at 72 bytes): a login checks the first 72 bytes of a longer password as
   * that bcryptjs did. Kept through a login's rehash; a new password (change, reset)
   * clears it. */
  passwordImported: integer("password_imported", { mode: "boolean" }).notNull().default(false),
  /** `user` or `admin`; only an admin (or `npm run admin:grant`) changes it. */
  role: text("role", { enum: ROLES }).notNull().default("user"),
  /** A disabled account cannot log in or refresh; its sessions are revoked. */
  disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
  /** When the owner proved the address (a verification, reset or email-change link); null until then. */
  emailVerifiedAt: integer("email_verified_at", { mode: "timestamp_ms" }),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/** What a session family is for (see `sessions.kind`). */
export const SESSION_KINDS = ["api", "authorization_server", "oauth"] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

/** One row per refresh token. A login starts a family (`family_id` = the first row's
 * id, and the `sid` of its access tokens); each refresh adds a child row and marks
 * its parent `replaced_by`. A replaced token presented again means theft: the whole
 * family is revoked. Only the SHA-256 of a refresh token is stored. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    familyId: text("family_id").notNull(),
    parentId: text("parent_id"),
    replacedBy: text("replaced_by"),
    refreshTokenHash: text("refresh_token_hash").notNull().unique(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    userAgent: text("user_agent"),
    ip: text("ip"),
    /** How the session's login authenticated (RFC 8176 `amr` values, space-separated,
     * e.g. `pwd otp mfa`); every refresh of the family carries it on. Null for rows
     * made before it was recorded. */
    amr: text("amr"),
    /** What the family is (docs/oauth-provider.md): `api`, the API's own session (its
     * refresh token works at `POST /token/refresh`); `authorization_server`, the OAuth
     * provider's browser session behind its HttpOnly cookie (never refreshed by a client);
     * `oauth`, a grant's refresh tokens, issued to `client_id` by `POST /oauth/token`.
     * Each kind's token is accepted only where that kind is. */
    kind: text("kind", { enum: SESSION_KINDS }).notNull().default("api"),
    /** `oauth` rows: the client the grant was issued to (oauth_clients.client_id). */
    clientId: text("client_id"),
    /** `oauth` rows: the granted scopes, space-separated (RFC 6749 §3.3). */
    scope: text("scope"),
    /** `oauth` rows: the resource indicator the grant's tokens are for (RFC 8707), if any. */
    resource: text("resource"),
    /** `oauth` and `authorization_server` rows: when the person authenticated (OpenID
     * Connect `auth_time`), carried through every rotation. */
    authTime: integer("auth_time", { mode: "timestamp_ms" }),
    /** `oauth` rows: the authorization code (single_use_tokens.id) the grant began with;
     * that code presented again revokes the family (RFC 6749 §4.1.2). */
    codeId: text("code_id"),
  },
  // replaced_by: a rotation finds the child it just made through it (see rotate); without
  // an index that is a scan of every session ever issued, on every refresh.
  (table) => [
    index("sessions_user_id_idx").on(table.userId),
    index("sessions_family_id_idx").on(table.familyId),
    index("sessions_replaced_by_idx").on(table.replacedBy),
    index("sessions_code_id_idx").on(table.codeId),
    // Deleting an OAuth client ends every token issued to it (src/features/oauth).
    index("sessions_client_id_idx").on(table.clientId),
  ],
);

/** Consecutive failed logins per normalized email, registered or not, so a lockout
 * says nothing about which emails have accounts. Cleared by a successful login and
 * by registering the email. */
export const loginFailures = sqliteTable("login_failures", {
  email: text("email").primaryKey(),
  failures: integer("failures").notNull(),
  lastFailureAt: integer("last_failure_at", { mode: "timestamp_ms" }).notNull(),
  lockedUntil: integer("locked_until", { mode: "timestamp_ms" }),
});

/** What a single-use token is for. Each flow that spans requests adds its purpose here. */
export const SINGLE_USE_PURPOSES = [
  "verify_email",
  "reset_password",
  "change_email",
  "mfa_login",
  "webauthn_register",
  "webauthn_login",
  "login_code",
  "email_login",
  "social_state",
  "social_link",
  "oauth_code",
  "oauth_request",
] as const;
export type SingleUsePurpose = (typeof SINGLE_USE_PURPOSES)[number];

/** State of flows that span requests (links in mails, MFA logins, passkey challenges):
 * one row per random value handed out, of which only the SHA-256 is kept. A row works
 * once: consuming it is one conditional UPDATE that only one request can win. Expired
 * and used rows are deleted by housekeeping. */
export const singleUseTokens = sqliteTable(
  "single_use_tokens",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique(),
    purpose: text("purpose", { enum: SINGLE_USE_PURPOSES }).notNull(),
    /** Null for flows that start before anyone is known (passkey login). */
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    /** What the flow acts on, e.g. the new address of an email change. */
    target: text("target"),
    /** Small flow-specific JSON; never a secret. */
    data: text("data"),
    /** Wrong answers spent on this row so far (MFA codes). */
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
  },
  // target: the mail cooldown (insertSingleUseUnlessRecent) looks for a recent token by
  // user *or* by target address; without this index the OR scans every token.
  (table) => [
    index("single_use_tokens_user_purpose_idx").on(table.userId, table.purpose),
    index("single_use_tokens_target_purpose_idx").on(table.target, table.purpose),
    index("single_use_tokens_expires_at_idx").on(table.expiresAt),
  ],
);

/** Security events (src/identity/audit.ts has the list of types). Kept after the user is
 * deleted (no foreign key), until housekeeping removes them after `AUDIT_RETENTION`.
 * `details` is a small JSON object that never holds a password, hash, token, code,
 * secret or link. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    time: integer("time", { mode: "timestamp_ms" }).notNull(),
    type: text("type").notNull(),
    /** The account the event is about; null only if none (never an unknown email). */
    userId: text("user_id"),
    /** Who did it: the user themself, an admin, or the system. */
    actorType: text("actor_type", { enum: ["user", "admin", "system"] }).notNull(),
    /** The acting user's id (the admin's for admin actions); null for the system. */
    actorId: text("actor_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    details: text("details"),
  },
  (table) => [
    index("audit_events_time_idx").on(table.time, table.id),
    index("audit_events_user_time_idx").on(table.userId, table.time, table.id),
    index("audit_events_type_time_idx").on(table.type, table.time, table.id),
  ],
);

/** A user's TOTP factor (RFC 6238), at most one. The secret is stored AES-GCM encrypted
 * under MFA_ENCRYPTION_KEY (src/identity/totp.ts); it is not required at login until
 * `confirmed_at` is set. `last_used_step` is the last 30-second step a code was accepted
 * for: a code of that step or an earlier one is refused (replay). */
export const totpFactors = sqliteTable("totp_factors", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  secretCiphertext: text("secret_ciphertext").notNull(),
  confirmedAt: integer("confirmed_at", { mode: "timestamp_ms" }),
  lastUsedStep: integer("last_used_step"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
});

/** Single-use recovery codes, SHA-256 of the normalized code only; made in sets of ten
 * when TOTP is confirmed or the codes are regenerated (which deletes the old set). */
export const recoveryCodes = sqliteTable(
  "recovery_codes",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull().unique(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
  },
  (table) => [index("recovery_codes_user_id_idx").on(table.userId)],
);

/** WebAuthn credentials (passkeys). `credential_id` and `public_key` (COSE) are
 * base64url; `counter` is the authenticator's signature counter as last seen. */
export const passkeys = sqliteTable(
  "passkeys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    credentialId: text("credential_id").notNull().unique(),
    publicKey: text("public_key").notNull(),
    counter: integer("counter").notNull(),
    /** JSON array of transports the browser reported, e.g. ["internal","hybrid"]. */
    transports: text("transports"),
    name: text("name").notNull(),
    /** `singleDevice` (bound to one authenticator) or `multiDevice` (synced). */
    deviceType: text("device_type", { enum: ["singleDevice", "multiDevice"] }).notNull(),
    backedUp: integer("backed_up", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  },
  (table) => [index("passkeys_user_id_idx").on(table.userId)],
);

/** Accounts at other identity providers linked to a user (social sign-in), keyed by
 * (issuer, subject) as OpenID Connect Core §5.7 says an end-user is identified, never by
 * email. `provider` is the id from `SOCIAL_PROVIDERS` it was linked through; `email` is
 * what the provider said at the last sign-in (shown in lists, never used to match). No
 * provider tokens are stored. */
export const identities = sqliteTable(
  "identities",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    email: text("email"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [
    uniqueIndex("identities_issuer_subject_idx").on(table.issuer, table.subject),
    index("identities_user_id_idx").on(table.userId),
  ],
);
