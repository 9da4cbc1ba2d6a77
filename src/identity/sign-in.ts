import * as z from "zod/mini";
import type { Config } from "../platform/config";
import type { Ctx } from "../platform/context";
import type { Statement } from "../platform/db";
import { ApiError } from "../platform/errors";
import { REQUIRED, text } from "../platform/fields";
import { named } from "../platform/openapi/describe";
import type { SessionKind, SingleUsePurpose } from "../platform/schema";
import { mintSingleUse, type SingleUseRow } from "../platform/single-use";
import type { User } from "./queries/users";
import { type RefreshTransport, type SessionStart, startSession } from "./sessions";

// The gate every way of signing in passes once its first factor checked out: the
// account's rules (enabled, address verified when REQUIRE_EMAIL_VERIFICATION asks), then
// the second-factor gate (an account with a factor gets 403 mfa_required and an
// `mfa_token` instead of a session), then `startSession`. The lockout's 429 is
// `assertNotLocked` (src/identity/lockout.ts), checked before any secret.

/** How long an `mfa_token` lives, and how many wrong codes it takes. */
export const MFA_TOKEN_TTL_SECONDS = 5 * 60;
export const MFA_MAX_ATTEMPTS = 5;
export const MFA_PURPOSE: SingleUsePurpose = "mfa_login";

/** The `mfa_token` as a request sends it back (POST /login/mfa and its passkey options). */
export const mfaTokenBody = named(
  "MfaTokenBody",
  z.object({
    mfa_token: text("mfa_token").check(z.minLength(1, REQUIRED), z.maxLength(256, "mfa_token is not valid")),
  }),
);

/** The account rules of every sign-in: a disabled account is refused like a wrong
 * credential (400 `invalid_credentials`); an unverified address under
 * REQUIRE_EMAIL_VERIFICATION is 403 `email_not_verified`, said only to whoever proved
 * the first factor, so it reveals nothing more than a login would. */
export function assertMaySignIn(config: Config, user: User): void {
  if (user.disabled) throw new ApiError("invalid_credentials");
  if (config.mail.requireVerification && !user.emailVerifiedAt) throw new ApiError("email_not_verified");
}

/** After a first factor (`amr`, e.g. `["pwd"]`): when `methods` is not empty, records an
 * `mfa_token` (5 min, single-use, hash only) that remembers that first factor and, for a
 * session that is not the API's own, its `kind` (so a token of one kind never finishes a
 * sign-in of another), with `also` in the same batch, and throws 403 `mfa_required`
 * carrying it and the methods. */
export async function requireSecondFactor(
  ctx: Ctx,
  user: User,
  {
    amr,
    methods,
    also = [],
    kind = "api",
  }: { amr: readonly string[]; methods: readonly string[]; also?: readonly Statement[]; kind?: SessionKind },
): Promise<void> {
  if (methods.length === 0) return;
  const { db, now } = ctx;
  const data = kind === "api" ? { amr } : { amr, kind };
  const options = { userId: user.id, ttlSeconds: MFA_TOKEN_TTL_SECONDS, data };
  const { value, insert } = await mintSingleUse(db, MFA_PURPOSE, options, now);
  await db.batch([insert, ...also]);
  throw new ApiError(
    "mfa_required",
    undefined,
    undefined,
    { "Cache-Control": "no-store" },
    { mfa_token: value, mfa_methods: methods },
  );
}

/** The first factor an `mfa_token`'s row remembers (`["pwd"]` for a row that names none:
 * the password it always was). */
export function firstFactorOf(row: Pick<SingleUseRow, "data">): string[] {
  return recordedAmr(row) ?? ["pwd"];
}

/** The session kind an `mfa_token`'s row was minted for (`api` when it names none). */
export function recordedKind(row: Pick<SingleUseRow, "data">): SessionKind {
  try {
    const kind = row.data ? (JSON.parse(row.data) as { kind?: unknown }).kind : undefined;
    if (kind === "authorization_server" || kind === "oauth") return kind;
  } catch {
    // Not a row that recorded one.
  }
  return "api";
}

/** The `amr` a single-use row's `data` recorded (`{"amr": [...]}`, not empty), or
 * undefined. */
export function recordedAmr(row: Pick<SingleUseRow, "data">): string[] | undefined {
  try {
    const amr = row.data ? (JSON.parse(row.data) as { amr?: unknown }).amr : undefined;
    if (Array.isArray(amr) && amr.length > 0 && amr.every((value) => typeof value === "string")) return amr;
  } catch {
    // Not a row that recorded one.
  }
  return undefined;
}

export type SignIn = Omit<SessionStart, "registering"> & {
  /** The account's second-factor methods, for a sign-in that has proved one factor
   * only: when not empty, the gate answers `mfa_required` instead of a session. */
  secondFactors?: readonly string[];
  /** The caller's statements, batched with the session (or with the `mfa_token`). */
  also?: readonly Statement[];
};

/** The end of every sign-in: the account's rules, the second-factor gate, the session. */
export async function signIn(ctx: Ctx, { secondFactors = [], also = [], ...start }: SignIn) {
  assertMaySignIn(ctx.config, start.user);
  const kind = start.family?.kind;
  await requireSecondFactor(ctx, start.user, { amr: start.amr, methods: secondFactors, also, kind });
  return startSession(ctx, start, also);
}

export type { RefreshTransport };
