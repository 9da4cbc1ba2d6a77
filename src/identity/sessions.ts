import type { Config } from "../platform/config";
import type { Ctx } from "../platform/context";
import { randomToken, sha256Hex } from "../platform/crypto";
import type { Statement } from "../platform/db";
import { auditEvent, userEvent } from "./audit";
import { clearFailures } from "./queries/failures";
import { type FamilyKind, insertFirstToken, insertSession, type NewToken } from "./queries/sessions";
import type { User } from "./queries/users";
import { userJson } from "./schemas";
import { issueAccessToken, type TokenSubject } from "./tokens";

// Starting a session: the one owner. Every way of signing in (register, POST /login, its
// second step, a passkey, and what comes next) ends in `startSession` (or, inside a
// batch of its own, `prepareSession`): the refresh token minted, the session row written,
// `login_succeeded` audited with the `amr`, the email's failed logins forgotten, and what
// delivery (src/identity/delivery.ts) needs handed back.

/** How the client asked to receive its refresh token: in the JSON body, or as the
 * HttpOnly `__Secure-refresh_token` cookie. */
export type RefreshTransport = "cookie" | "body";

/** What the database keeps instead of a refresh token: its SHA-256, hex. */
export const hashRefreshToken = sha256Hex;

/** A refresh token plus the row values that record it. */
export async function newRefresh(config: Config, now: Date) {
  const refreshToken = randomToken();
  return {
    refreshToken,
    refreshTokenHash: await hashRefreshToken(refreshToken),
    expiresAt: new Date(now.getTime() + config.refreshTtlSeconds * 1000),
  };
}

/** The token pair answered by login, register, refresh and password change; `amr` as
 * in `issueAccessToken`. */
export async function tokenPair(
  user: TokenSubject,
  sessionId: string,
  refreshToken: string,
  config: Config,
  amr?: readonly string[],
) {
  return {
    token: await issueAccessToken(user, sessionId, config, amr),
    refresh_token: refreshToken,
    expires_in: config.tokenTtlSeconds,
  };
}

export type TokenPair = Awaited<ReturnType<typeof tokenPair>>;

/** Register/login answer: the user, its token pair, nothing secret. */
export function signedIn(user: User, tokens: TokenPair) {
  const { created_at, ...rest } = userJson(user);
  return { ...rest, ...tokens, created_at };
}

export type SignedIn = ReturnType<typeof signedIn>;

/** A session just started or rotated: the body to answer (holding the refresh token) and
 * how the client asked to receive the refresh token. `deliver` answers it. */
export type Started<B extends { refresh_token: string }> = { body: B; transport: RefreshTransport };

export type SessionStart = {
  user: User;
  /** How the user authenticated (RFC 8176), in the access token, the session row and
   * the audit event: `["pwd"]`, `["pwd","otp","mfa"]`, `["hwk","user","mfa"]`... */
  amr: readonly string[];
  transport: RefreshTransport;
  /** Forget the email's failed logins (the login had some). */
  clearFailures?: boolean;
  /** The user row is inserted in the same batch (register): the session row and the
   * failure reset then happen only if it went in, and no `login_succeeded` is written
   * (register audits `user_registered` with its insert). */
  registering?: boolean;
  /** What the family is when not the API's own session: the authorization server's
   * browser session (`kind: "authorization_server"`, with its `authTime`) of
   * /oauth/authorize. Rotation copies it. */
  family?: FamilyKind;
};

/**
 * A session's start as statements to put in the caller's `db.batch` (`statements`, with
 * `also` among them), and `finish`, which signs the access token once the batch ran and
 * returns what `deliver` answers. `finish` takes the user as the batch returned it
 * (register's insert), else the one given.
 */
export async function prepareSession(ctx: Ctx, start: SessionStart, also: readonly Statement[] = []) {
  const { config, db, now, source } = ctx;
  const { user, amr, transport } = start;
  const refresh = await newRefresh(config, now);
  const token: NewToken & FamilyKind = {
    id: crypto.randomUUID(),
    ...refresh,
    userAgent: source.userAgent,
    ip: source.ip,
    amr: amr.join(" "),
    ...start.family,
  };
  const statements: Statement[] = start.registering
    ? // A stranger's failures can't lock the new owner; a registration that lost to the
      // UNIQUE index resets nothing and starts nothing.
      [clearFailures(db, user.email, user.id), insertFirstToken(db, user.id, token, now), ...also]
    : [
        insertSession(db, user.id, token, now),
        auditEvent(db, userEvent("login_succeeded", user.id, source, { amr: amr.join(" ") }), now),
        ...also,
        ...(start.clearFailures ? [clearFailures(db, user.email)] : []),
      ];
  return {
    statements,
    finish: async (stored: User = user): Promise<Started<SignedIn>> => ({
      body: signedIn(stored, await tokenPair(stored, token.id, refresh.refreshToken, config, amr)),
      transport,
    }),
  };
}

/** Starts a session in one round trip (`prepareSession`'s statements and `also`, batched),
 * then signs its access token. */
export async function startSession(ctx: Ctx, start: SessionStart, also: readonly Statement[] = []) {
  const { statements, finish } = await prepareSession(ctx, start, also);
  await ctx.db.batch(statements as [Statement, ...Statement[]]);
  return finish();
}
