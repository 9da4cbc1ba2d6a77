import { auditEvent, auditIfChanged, userEvent } from "../../identity/audit";
import { mintLoginCode } from "../../identity/exchange";
import { assertNotLocked, failureEvents } from "../../identity/lockout";
import { findFactorsByEmail, mfaMethods, summary } from "../../identity/queries/factors";
import { findFailures, nextFailure, recordFailure } from "../../identity/queries/failures";
import { findUser, markVerified, type User } from "../../identity/queries/users";
import { distrustFactorsOfUnprovenAddress } from "../../identity/recovery";
import { type RefreshTransport, signIn } from "../../identity/sign-in";
import type { Config } from "../../platform/config";
import type { Ctx, Source } from "../../platform/context";
import { equalInConstantTime, hmacSha256Hex } from "../../platform/crypto";
import type { Statement } from "../../platform/db";
import { ApiError } from "../../platform/errors";
import { MAX_EMAIL_LENGTH } from "../../platform/fields";
import type { Message } from "../../platform/mail/send";
import { emailLoginMail } from "../../platform/mail/templates";
import { allowedRedirect, redirectWith } from "../../platform/redirects";
import type { SettingValue } from "../../platform/settings";
import { consumeSingleUse, endIfSpent, mintMailToken, retireOthers, singleUseHash } from "../../platform/single-use";
import { inertText } from "../../platform/text";
import { emailLoginByHash, takeEmailLoginAttempt, userByEmail } from "./queries";

// Passwordless sign-in by email (issue 26). One request (POST /login/email) is one
// single-use row of purpose `email_login` (src/platform/single-use.ts): its token_hash is
// the SHA-256 of the link's 256-bit token, its `data` the HMAC of the 6-digit code (never
// the code) and the `redirect_to` the link returns to. The code and the link are two ways
// to spend the same row, so either one used ends both, and a newer request retires it.

export type EmailLoginMode = SettingValue<"EMAIL_LOGIN">;

/** Wrong codes a request takes: the 5th ends it (the code and the link). */
export const CODE_MAX_ATTEMPTS = 5;
/** RFC 8176 `amr` of a sign-in by an emailed code or link: both are one-time secrets
 * delivered out of band ("otp"), one factor (the mailbox). */
export const EMAIL_LOGIN_AMR = ["otp"] as const;
const PURPOSE = "email_login";
const SIX_DIGITS = /^\d{6}$/;

export const sendsCode = (mode: EmailLoginMode) => mode === "code" || mode === "both";
export const sendsLink = (mode: EmailLoginMode) => mode === "link" || mode === "both";

/** What a row keeps besides the link's hash: the code's HMAC, the link's return URL. */
type Stored = { mac?: string; redirect_to?: string };

function storedOf(data: string | null): Stored {
  try {
    const parsed = data ? (JSON.parse(data) as Record<string, unknown>) : {};
    return {
      ...(typeof parsed.mac === "string" ? { mac: parsed.mac } : {}),
      ...(typeof parsed.redirect_to === "string" ? { redirect_to: parsed.redirect_to } : {}),
    };
  } catch {
    return {};
  }
}

/** A uniformly random 6-digit code, "000000" to "999999" (rejection sampling: 2^32 is not
 * a multiple of 10^6, so the top 967,296 values are drawn again). */
export function newCode(): string {
  const limit = 4_294_000_000;
  for (;;) {
    const [value = limit] = crypto.getRandomValues(new Uint32Array(1));
    if (value < limit) return String(value % 1_000_000).padStart(6, "0");
  }
}

/** HMAC-SHA-256 of a code under EMAIL_LOGIN_KEY, bound to its row: without the key the
 * stored value says nothing, even to someone who can try all 10^6 codes. */
function codeMac(config: Config, rowId: string, code: string): Promise<string> {
  const key = config.settings.EMAIL_LOGIN_KEY;
  if (!key) throw new Error("EMAIL_LOGIN_KEY is not configured");
  return hmacSha256Hex(key, `email_login:${rowId}:${code}`);
}

/** The device a request came from, as the mail names it (client text made inert). */
export function deviceOf(source: Source): string {
  const agent = source.userAgent ? inertText(source.userAgent, 160) : "an unknown browser";
  return `${agent} (IP address ${source.ip ?? "unknown"})`;
}

/**
 * The request's `redirect_to`, checked before the answer (it says nothing about the
 * address): when given, on an allowed origin (400 `invalid_redirect`), and kept only when
 * links are mailed; required with EMAIL_LOGIN=link (400 `invalid_redirect`). Under `both`,
 * no `redirect_to` mails the code alone.
 */
export function checkRedirect(config: Config, redirectTo: string | undefined): string | undefined {
  const mode = config.settings.EMAIL_LOGIN;
  if (redirectTo !== undefined) {
    const url = allowedRedirect(config, redirectTo);
    return sendsLink(mode) ? url.href : undefined;
  }
  if (mode === "link") {
    throw new ApiError("invalid_redirect", "redirect_to is required: the mailed link returns there with a code");
  }
  return undefined;
}

/**
 * After the answer: for a known, enabled account, a new emailed sign-in (a 6-digit code
 * and/or a link to `redirectTo`, valid EMAIL_LOGIN_TTL) that retires the one before,
 * audited as `email_login_requested`; the mail to send. Nothing (undefined) for an
 * unknown or disabled address, or within MAIL_COOLDOWN of the last one to this account
 * or address (the earlier one keeps working).
 */
export async function requestEmailLogin(
  ctx: Ctx,
  email: string,
  redirectTo: string | undefined,
): Promise<Message | undefined> {
  const { config, db, now, source } = ctx;
  if (email.length > MAX_EMAIL_LENGTH) return undefined;
  const [user] = await userByEmail(db, email);
  if (!user || user.disabled) return undefined;
  const ttl = config.settings.EMAIL_LOGIN_TTL;
  const id = crypto.randomUUID();
  const code = sendsCode(config.settings.EMAIL_LOGIN) ? newCode() : undefined;
  const stored: Stored = {
    ...(code ? { mac: await codeMac(config, id, code) } : {}),
    ...(redirectTo ? { redirect_to: redirectTo } : {}),
  };
  // Without a link the token goes nowhere: the row is then spent by its code only.
  const options = { id, userId: user.id, ttlSeconds: ttl, target: user.email, data: stored };
  const cooldownSeconds = config.mail.cooldownSeconds;
  const { value: token, insert } = await mintMailToken(db, PURPOSE, { ...options, cooldownSeconds }, now);
  const method = code && redirectTo ? "both" : code ? "code" : "link";
  const event = userEvent("email_login_requested", user.id, source, { method });
  // The event only when the row went in (not within the cooldown).
  const [inserted] = await db.batch([
    ...auditIfChanged(db, insert, event, now),
    retireOthers(db, user.id, PURPOSE, id, now),
  ]);
  if (inserted.length === 0) return undefined;
  const link = redirectTo ? `${config.mail.publicUrl}/login/email/link?token=${token}` : undefined;
  return emailLoginMail(config.appName, user, { code, link, seconds: ttl, device: deviceOf(source) });
}

/** A used code or link proved the mailbox: the address is verified (the first proof
 * removes the factors enrolled before it, src/identity/recovery.ts), audited as
 * `email_login` with the method. `also` joins the same batch, last. */
async function proveAddress(ctx: Ctx, user: User, method: "code" | "link", also: readonly Statement[] = []) {
  const { db, now, source } = ctx;
  await db.batch([
    ...distrustFactorsOfUnprovenAddress(db, user.id, user.email, source, now),
    markVerified(db, user.id, user.email, now),
    auditEvent(db, userEvent("email_login", user.id, source, { method }), now),
    ...also,
  ]);
}

export type CodeSignIn = { email: string; code: string; refresh_transport: RefreshTransport };

/**
 * POST /login/email/verify: the email's lockout first (429 whatever the code), then the
 * code against the live request's HMAC in constant time. Wrong (or no live request, an
 * unknown or disabled address): the failure counts toward the email's lockout (audited
 * as `email_login_failed` for an account), 400 `invalid_code`; each check takes one of the
 * request's 5 tries before comparing (so concurrent guesses get no more), and a wrong
 * fifth ends it. Right: the request is spent in one conditional UPDATE, the address
 * proved, then the sign-in gate with `amr: ["otp"]` (403 `mfa_required` for an account
 * with a second factor on a proved address).
 */
export async function signInByCode(ctx: Ctx, { email, code, refresh_transport }: CodeSignIn) {
  const { config, db, now, source } = ctx;
  const known = email.length <= MAX_EMAIL_LENGTH;
  const [found, failures, live, factors] = known
    ? await db.batch([
        userByEmail(db, email),
        findFailures(db, email),
        takeEmailLoginAttempt(db, email, CODE_MAX_ATTEMPTS, now),
        findFactorsByEmail(db, email),
      ])
    : [[], [], [], []];
  const [user] = found;
  const [record] = failures;
  const [row] = live;
  assertNotLocked(record, now);
  // The same HMAC work whether or not a request is pending.
  const expected = await codeMac(config, row?.id ?? "none", SIX_DIGITS.test(code) ? code : "000000");
  const mac = row ? storedOf(row.data).mac : undefined;
  const right = mac !== undefined && SIX_DIGITS.test(code) && equalInConstantTime(expected, mac);
  if (!user || user.disabled || !row || !right) {
    if (!known) throw new ApiError("invalid_code");
    const { lockSeconds } = nextFailure(record, config.lockout, now);
    const reason = !user ? "unknown" : user.disabled ? "account_disabled" : !row ? "no_code" : "wrong_code";
    const failure = { type: "email_login_failed", details: { method: "code", reason } } as const;
    await db.batch([
      recordFailure(db, email, record, config.lockout, now),
      ...(user ? failureEvents(db, user.id, failure, lockSeconds, source, now) : []),
      ...(row ? [endIfSpent(db, row.tokenHash, PURPOSE, CODE_MAX_ATTEMPTS, now)] : []),
    ]);
    throw new ApiError("invalid_code");
  }
  const [used] = await consumeSingleUse(db, row.tokenHash, PURPOSE, now);
  if (!used) throw new ApiError("invalid_code");
  await proveAddress(ctx, user, "code");
  // A first proof of the address removed any factor enrolled before it.
  const secondFactors = user.emailVerifiedAt ? mfaMethods(summary(factors[0])) : [];
  return signIn(ctx, {
    user: { ...user, emailVerifiedAt: user.emailVerifiedAt ?? now },
    amr: [...EMAIL_LOGIN_AMR],
    transport: refresh_transport,
    secondFactors,
    clearFailures: record !== undefined,
  });
}

/** A link's state without spending it (GET /login/email/link): live or not, and where a
 * new request should return (the dead link's `redirect_to`, while still allowed). */
export async function linkState(ctx: Ctx, token: string): Promise<{ live: boolean; redirectTo?: string }> {
  const hash = await singleUseHash(token);
  const row = hash ? await emailLoginByHash(ctx.db, hash) : undefined;
  const redirectTo = row && stillAllowed(ctx.config, storedOf(row.data).redirect_to);
  const live = !!row && !row.usedAt && row.expiresAt > ctx.now && redirectTo !== undefined;
  return { live, ...(redirectTo ? { redirectTo } : {}) };
}

function stillAllowed(config: Config, redirectTo: string | undefined): string | undefined {
  if (redirectTo === undefined) return undefined;
  try {
    return allowedRedirect(config, redirectTo).href;
  } catch {
    return undefined;
  }
}

/**
 * POST /login/email/link: spends the link's request in one conditional UPDATE (of two
 * posts of one link exactly one gets past), proves the address, and mints a one-time
 * sign-in code (src/identity/exchange.ts, 60 s, amr `["otp"]`) in the same batch.
 * `{ location }`: `redirect_to` with `code=`; `{ dead }` for an unknown, expired, used or
 * replaced link, a disabled account, an account that left the address, or a
 * `redirect_to` no longer allowed (with where a new request should return, if known).
 */
export async function signInByLink(
  ctx: Ctx,
  token: string,
): Promise<{ location: string } | { dead: { redirectTo?: string } }> {
  const { db, now } = ctx;
  const hash = await singleUseHash(token);
  if (!hash) return { dead: {} };
  const [row] = await consumeSingleUse(db, hash, PURPOSE, now);
  const target = row && stillAllowed(ctx.config, storedOf(row.data).redirect_to);
  const user = row?.userId && target ? await findUser(db, row.userId) : undefined;
  if (!row || !target || !user || user.disabled || user.email !== row.target) {
    return { dead: await linkState(ctx, token) };
  }
  const { value, insert } = await mintLoginCode(ctx, user.id, EMAIL_LOGIN_AMR);
  await proveAddress(ctx, user, "link", [insert]);
  return { location: redirectWith(target, { code: value }) };
}
