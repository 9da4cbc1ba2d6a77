import { eq } from "drizzle-orm";
import type { Ctx } from "../platform/context";
import { ApiError } from "../platform/errors";
import { users } from "../platform/schema";
import { consumeSingleUse, mintSingleUse, singleUseHash } from "../platform/single-use";
import { factorsQuery, mfaMethods, summary } from "./queries/factors";
import type { FamilyKind } from "./queries/sessions";
import { publicColumns } from "./queries/users";
import type { RefreshTransport } from "./sessions";
import { recordedAmr, signIn } from "./sign-in";

// The one way a sign-in that ends in a browser redirect (social sign-in, an email link)
// hands a session to an app: the flow mints a one-time code, the redirect carries it
// (`code=` in `redirect_to`'s query, src/platform/redirects.ts), and the app trades it at
// `POST /login/exchange` for exactly what `POST /login` answers. Tokens never travel in a
// URL, where history, logs and Referer headers would keep them (RFC 9700 §4.3.2, the
// same reason OAuth has its authorization code).

/** How long a one-time sign-in code lives, in seconds: the app trades it right away. */
export const LOGIN_CODE_TTL_SECONDS = 60;

/**
 * A one-time sign-in code for `userId`, which signs in as the factor `amr` names (RFC
 * 8176, e.g. `["fed"]` for a social sign-in, `["otp"]` for an email link). `value` (32
 * random bytes, base64url) goes to the app in the redirect; `insert` records only its
 * SHA-256, single-use, for LOGIN_CODE_TTL_SECONDS: batch it with the flow's own writes.
 */
export function mintLoginCode(ctx: Pick<Ctx, "db" | "now">, userId: string, amr: readonly string[]) {
  const options = { userId, ttlSeconds: LOGIN_CODE_TTL_SECONDS, data: { amr } };
  return mintSingleUse(ctx.db, "login_code", options, ctx.now);
}

/**
 * Trades a one-time code for a sign-in: the code is used up in one conditional UPDATE (of
 * two requests with it, exactly one gets past), then the sign-in gate every login passes
 * (src/identity/sign-in.ts): the account's rules (403 `email_not_verified`), the second
 * factor (403 `mfa_required` with an `mfa_token` that remembers the code's `amr` as the
 * first factor), the session, audited as `login_succeeded` with that `amr`. An unknown,
 * malformed, expired or used code, or one retired by a change to the account
 * (src/identity/retirement.ts): 400 `invalid_code`. `family` names the session to start
 * when not the API's own (the authorization server's, at `/oauth/authorize`).
 */
export async function exchangeLoginCode(ctx: Ctx, code: string, transport: RefreshTransport, family?: FamilyKind) {
  const { db, now } = ctx;
  const hash = await singleUseHash(code);
  const [row] = hash ? await consumeSingleUse(db, hash, "login_code", now) : [];
  const amr = row && recordedAmr(row);
  if (!row?.userId || !amr) throw new ApiError("invalid_code");
  const [found, counts] = await db.batch([
    db.select(publicColumns).from(users).where(eq(users.id, row.userId)),
    factorsQuery(db, row.userId),
  ]);
  const [user] = found;
  // A disabled account's code is refused like any dead code (disabling retires it too).
  if (!user || user.disabled) throw new ApiError("invalid_code");
  return signIn(ctx, { user, amr, transport, secondFactors: mfaMethods(summary(counts[0])), family });
}
