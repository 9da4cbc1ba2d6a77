import { and, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { Db } from "../platform/db";
import { SINGLE_USE_PURPOSES, type SingleUsePurpose, singleUseTokens } from "../platform/schema";

// Which single-use rows (src/platform/single-use.ts) each account event retires: the
// flows in flight that must die with a change to the account.

/** What happens to an account that ends flows in flight (most are audit event types of
 * the same name; `logout_all` is POST /logout/all). */
export const ACCOUNT_EVENTS = [
  "password_reset",
  "password_changed",
  "email_changed",
  "logout_all",
  "session_revoked",
  "refresh_token_reused",
  "second_factors_removed",
  "mfa_reset_by_admin",
  "account_disabled",
  "account_deleted",
] as const;
export type AccountEvent = (typeof ACCOUNT_EVENTS)[number];

const ALL: readonly SingleUsePurpose[] = SINGLE_USE_PURPOSES;
/** The flows that start a session or add a credential: a login waiting for its second
 * factor, the passkey challenge of that second step, a passkey being registered, a
 * one-time sign-in code on its way to `POST /login/exchange`, an email sign-in's code and
 * link, a social identity being
 * linked (the link's start and its provider round trip; a sign-in's state row belongs to
 * no account yet). */
const IN_FLIGHT = [
  "mfa_login",
  "webauthn_login",
  "webauthn_register",
  "login_code",
  "email_login",
  "social_link",
  "social_state",
  "oauth_code",
  "oauth_request",
] as const;

/**
 * The single-use rows each account event retires: the one table of which flow dies with
 * what (the README's "Single-use rows and what retires them" is generated from it and
 * `RETIRE_REASONS`). `retireFor` builds the statement; every route that makes one of
 * these events batches it with the change. A new link of a purpose also retires the
 * older ones of that purpose (`retireOthers`), outside this table.
 */
export const RETIRED_BY: Record<AccountEvent, readonly SingleUsePurpose[]> = {
  password_reset: ["reset_password", "change_email", ...IN_FLIGHT],
  password_changed: ["reset_password", "change_email", ...IN_FLIGHT],
  email_changed: ALL,
  logout_all: ["change_email", ...IN_FLIGHT],
  // Only the rows that session asked for (change_email records its sid).
  session_revoked: ["change_email"],
  refresh_token_reused: ["change_email"],
  second_factors_removed: ["change_email", ...IN_FLIGHT],
  mfa_reset_by_admin: ["mfa_login", "webauthn_login"],
  account_disabled: ALL,
  // No statement: ON DELETE CASCADE deletes the account's rows with it.
  account_deleted: ALL,
};

/** Events that retire only what one session asked for, not the whole account's rows. */
export const SESSION_EVENTS: ReadonlySet<AccountEvent> = new Set(["session_revoked", "refresh_token_reused"]);

/** One line per purpose: why the events of `RETIRED_BY` retire it (and notable ones that
 * do not). */
export const RETIRE_REASONS: Record<SingleUsePurpose, string> = {
  verify_email:
    "proves the address it went to: it proves nothing once the account moved to another address or was disabled; after a reset (which proves the address too) it changes nothing and still answers verified, so the welcome mail's link keeps working",
  reset_password:
    "sets the password: a password set another way (change, reset) or an address left (email change) makes the link in the old mailbox a way back in",
  change_email:
    "moves the account to an address: one asked from a thief's session must not outlive the owner's recovery (reset, password change, logging every session out), nor the session it came from once that is revoked or caught reused; a plain logout keeps it, so the owner can confirm from another device",
  mfa_login:
    "a login with the right password waiting for its second factor (`mfa_token`): started under the old password, factors or sessions, it must not finish after they changed or were all ended",
  webauthn_login:
    "the passkey challenge of such a login's second step (or of a passwordless login, which belongs to no account and lives 5 minutes): dies with the login it serves",
  login_code:
    "a sign-in finished in a browser (social sign-in, an email link) on its way to the app through `POST /login/exchange` (60 seconds): started before the account's password, factors or sessions changed, it must not start a session after",
  email_login:
    "an emailed sign-in code and link (`POST /login/email`, EMAIL_LOGIN_TTL): asked before the account's password, factors or sessions changed, it must not start a session after; a newer request replaces it too",
  webauthn_register:
    "a passkey being added by a session: dies with the sessions that could finish it, and never lands after a recovery removed the factors",
  social_link:
    "a signed-in user's start of linking a social identity (`POST /me/identities/:provider`, 10 minutes): adds a way to sign in, so it dies like a passkey being added",
  oauth_code:
    "an OAuth authorization code (`/oauth/authorize` → `POST /oauth/token`, OAUTH_CODE_TTL): issued before the account's password, factors or sessions changed, it must not start a grant after",
  oauth_request:
    "an OAuth authorization request waiting at the provider's login or consent page: started before the account's password, factors or sessions changed, it must not finish after",
  social_state:
    "the state, nonce and PKCE verifier of a trip to a social provider (10 minutes), bound to the browser by a cookie; a linking trip belongs to its account and dies like `social_link`, a sign-in's belongs to none",
};

/**
 * The statements that retire, for `userId`, the unused rows `RETIRED_BY[event]` names:
 * batch them with the change that makes the event. For a session event, `sid` names the
 * session whose rows go. `onlyIf` makes them conditional on the batch's state (the user
 * is disabled now, the address was never proved). None for `account_deleted`: its rows
 * cascade with the user.
 */
export function retireFor(
  db: Db,
  event: AccountEvent,
  userId: string,
  now: Date,
  { sid, onlyIf }: { sid?: string; onlyIf?: SQL } = {},
) {
  if (event === "account_deleted") return [];
  const session = SESSION_EVENTS.has(event)
    ? sql`json_extract(${singleUseTokens.data}, '$.sid') = ${sid ?? ""}`
    : undefined;
  return [
    db
      .update(singleUseTokens)
      .set({ usedAt: now })
      .where(
        and(
          eq(singleUseTokens.userId, userId),
          inArray(singleUseTokens.purpose, [...RETIRED_BY[event]]),
          isNull(singleUseTokens.usedAt),
          session,
          onlyIf,
        ),
      ),
  ];
}
