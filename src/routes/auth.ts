import { Hono } from "hono";
import * as z from "zod/mini";
import {
  burnPasswordCheck,
  hashPassword,
  MAX_PASSWORD_BYTES,
  needsRehash,
  passwordBytes,
  verifyPassword,
} from "../auth/passwords";
import { clientOf, newRefresh, tokenPair } from "../auth/sessions";
import { clearFailures, findFailures, lockedFor, recordFailure } from "../db/lockout";
import { insertFirstToken, insertSession } from "../db/sessions";
import { findUserWithHash, insertUserQuery, setPasswordHash, type User, userJson } from "../db/users";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { email, MAX_EMAIL_LENGTH, name, newEmail, newPassword, password, refreshTransport } from "../fields";
import { jsonBody } from "../middleware/json-body";
import { rateLimit } from "../middleware/rate-limit";
import { deliverTokens } from "../middleware/refresh-cookie";

export const registerBody = z.object({
  firstName: name("firstName"),
  lastName: name("lastName"),
  email: newEmail(),
  password: newPassword("password"),
  refresh_transport: refreshTransport(),
});

export const loginBody = z.object({
  email: email(),
  password: password("password"),
  refresh_transport: refreshTransport(),
});

/** Register/login answer: the user, its token pair, nothing secret. */
function signedIn(user: User, tokens: Awaited<ReturnType<typeof tokenPair>>) {
  const { created_at, ...rest } = userJson(user);
  return { ...rest, ...tokens, created_at };
}

export const auth = new Hono<AppEnv>()
  .post("/register", jsonBody(registerBody), rateLimit("REGISTER_RATE_LIMIT"), async (c) => {
    const { firstName, lastName, email, password, refresh_transport } = c.req.valid("json");
    const { config, db } = c.var;
    const passwordHash = await hashPassword(password, config.bcryptCost);
    const now = new Date();
    const userId = crypto.randomUUID();
    const refresh = await newRefresh(config, now);
    const token = { id: crypto.randomUUID(), ...refresh, ...clientOf(c) };
    // One round trip: the user row; then, only if it won, the session row and the
    // email's failed-login record (so a stranger's failures can't lock the new owner).
    const [inserted] = await db.batch([
      insertUserQuery(db, { id: userId, email, firstName, lastName, passwordHash }, now),
      insertFirstToken(db, userId, token, now),
      clearFailures(db, email, userId),
    ]);
    const user = inserted[0];
    if (!user) throw new ApiError("user_exists");
    c.header("Cache-Control", "no-store");
    const body = signedIn(user, await tokenPair(user, token.id, refresh.refreshToken, config));
    return c.json(deliverTokens(c, body, refresh_transport), 201);
  })
  .post("/login", jsonBody(loginBody), rateLimit("LOGIN_RATE_LIMIT"), async (c) => {
    const { email, password, refresh_transport } = c.req.valid("json");
    const { config, db } = c.var;
    const now = new Date();
    // Oversized emails can match no account and get no failure record.
    const known = email.length <= MAX_EMAIL_LENGTH;
    const [users, failures] = known ? await db.batch([findUserWithHash(db, email), findFailures(db, email)]) : [[], []];
    const [user] = users;
    const [record] = failures;
    // Locked emails, registered or not, get the same 429 whatever the password.
    const wait = lockedFor(record, now);
    if (wait > 0) {
      throw new ApiError("rate_limited", "Too many failed logins for this account, try again later", undefined, {
        "Retry-After": String(wait),
      });
    }
    // Every path below spends exactly one bcrypt comparison, so timing says nothing
    // about whether the email exists.
    const checkable = user !== undefined && passwordBytes(password) <= MAX_PASSWORD_BYTES;
    const valid = checkable
      ? await verifyPassword(password, user.passwordHash)
      : await burnPasswordCheck(password, config.bcryptCost);
    // A disabled account gets the wrong-password answer, after the same work.
    if (!user || !valid || user.disabled) {
      if (known) await recordFailure(db, email, record, config.lockout, now);
      throw new ApiError("invalid_credentials");
    }

    const refresh = await newRefresh(config, now);
    const token = { id: crypto.randomUUID(), ...refresh, ...clientOf(c) };
    // One write round trip: the session, plus a rehash (a hash made at another cost is
    // upgraded while the password is at hand) and a failure reset, only when due.
    const rehashed = needsRehash(user.passwordHash, config.bcryptCost)
      ? setPasswordHash(db, user.id, await hashPassword(password, config.bcryptCost), now)
      : undefined;
    await db.batch([
      insertSession(db, user.id, token, now),
      ...(rehashed ? [rehashed] : []),
      ...(record ? [clearFailures(db, email)] : []),
    ]);
    c.header("Cache-Control", "no-store");
    const body = signedIn(user, await tokenPair(user, token.id, refresh.refreshToken, config));
    return c.json(deliverTokens(c, body, refresh_transport), 200);
  });
