import type { BatchItem } from "drizzle-orm/batch";
import type { Context } from "hono";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import type { SingleUsePurpose } from "../platform/schema";
import { mintSingleUse } from "../platform/single-use-mint";
import { auditEvent } from "./audit";
import { clearFailures } from "./queries/failures";
import { insertSession } from "./queries/sessions";
import { type User, userJson } from "./queries/users";
import { auditSourceOf, clientOf, newRefresh, tokenPair } from "./sessions";

/** How long an `mfa_token` lives, and how many wrong codes it takes. */
export const MFA_TOKEN_TTL_SECONDS = 5 * 60;
export const MFA_MAX_ATTEMPTS = 5;
export const MFA_PURPOSE: SingleUsePurpose = "mfa_login";

/** Register/login answer: the user, its token pair, nothing secret. */
export function signedIn(user: User, tokens: Awaited<ReturnType<typeof tokenPair>>) {
  const { created_at, ...rest } = userJson(user);
  return { ...rest, ...tokens, created_at };
}

/** After a right password: when `methods` is not empty, records an `mfa_token` (5 min,
 * single-use, hash only), with `also` in the same batch, and throws 403 `mfa_required`
 * carrying it and the methods. */
export async function requireSecondFactor(
  db: AppEnv["Variables"]["db"],
  userId: string,
  methods: string[],
  now: Date,
  also: BatchItem<"sqlite">[] = [],
): Promise<void> {
  if (methods.length === 0) return;
  const { value, insert } = await mintSingleUse(db, MFA_PURPOSE, { userId, ttlSeconds: MFA_TOKEN_TTL_SECONDS }, now);
  await db.batch([insert, ...also]);
  throw new ApiError(
    "mfa_required",
    undefined,
    undefined,
    { "Cache-Control": "no-store" },
    { mfa_token: value, mfa_methods: methods },
  );
}

/** Starts a session for `user` after every factor checked out, with `amr` (RFC 8176)
 * in its access token; returns the `/login` body (`finishLogin` in
 * src/identity/delivery.ts delivers it as the client asked). Forgets the
 * email's failed logins when `hadFailures`. An unverified address under
 * REQUIRE_EMAIL_VERIFICATION is 403 `email_not_verified`, as at POST /login. */
export async function completeLogin(c: Context<AppEnv>, user: User, amr: string[], hadFailures: boolean) {
  const { config, db } = c.var;
  if (config.mail.requireVerification && !user.emailVerifiedAt) throw new ApiError("email_not_verified");
  const now = new Date();
  const refresh = await newRefresh(config, now);
  const token = { id: crypto.randomUUID(), ...refresh, ...clientOf(c), amr: amr.join(" ") };
  const actor = { type: "user", id: user.id } as const;
  await db.batch([
    insertSession(db, user.id, token, now),
    auditEvent(
      db,
      { type: "login_succeeded", userId: user.id, actor, source: auditSourceOf(c), details: { amr: amr.join(" ") } },
      now,
    ),
    ...(hadFailures ? [clearFailures(db, user.email)] : []),
  ]);
  c.header("Cache-Control", "no-store");
  return signedIn(user, await tokenPair(user, token.id, refresh.refreshToken, config, amr));
}
