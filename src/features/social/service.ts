import { type AuditDetails, auditEvent, auditIfChanged, userEvent } from "../../identity/audit";
import { mintLoginCode } from "../../identity/exchange";
import { findIdentity, insertIdentity, insertIdentityOfNewUser } from "../../identity/queries/identities";
import { findUserByEmail, insertUserQuery, type User } from "../../identity/queries/users";
import type { SocialProvider } from "../../platform/config";
import type { Ctx } from "../../platform/context";
import { randomToken, sha256Hex } from "../../platform/crypto";
import type { Statement } from "../../platform/db";
import { canonicalEmail } from "../../platform/fields";
import { redirectWith } from "../../platform/redirects";
import { NO_PASSWORD } from "../../platform/schema";
import { consumeSingleUse, insertSingleUse, singleUseHash } from "../../platform/single-use";
import { inertText } from "../../platform/text";
import { authorizationUrl, finishTrip, newTrip, type ProviderIdentity, SocialFailure } from "./protocol";

// Social sign-in's flow: a trip to the provider starts with a single-use `social_state`
// row (state, nonce, PKCE verifier, where to go back) bound to the browser by a cookie,
// and ends at the callback, which uses that row up, checks what came back
// (src/features/social/protocol.ts) and either links the identity or hands the app a
// one-time code for POST /login/exchange (src/identity/exchange.ts): never a token in a
// URL. Sessions start there, through the core's sign-in gate.

/** How long a trip to the provider may take, in seconds. */
export const STATE_TTL_SECONDS = 10 * 60;
/** RFC 8176 has no value for "another party authenticated the user"; `fed` is the one
 * Microsoft Entra ID writes for federated sign-in (docs/social-login.md says why). */
export const SOCIAL_AMR = ["fed"] as const;
const NAME_LENGTH = 100;

/** What the state row remembers (its `data`); the verifier and nonce are useless without
 * the provider's code, which only the browser that holds the cookie brings back. */
type TripData = {
  provider: string;
  state: string;
  nonce: string;
  verifier: string;
  redirect_to: string;
  /** SHA-256 of the cookie that binds the trip to the browser. */
  cookie: string;
};

/** The callback URL of `provider`: always from PUBLIC_URL, never the request's Host. */
export function callbackUrl(ctx: Pick<Ctx, "config">, provider: SocialProvider): string {
  return `${ctx.config.mail.publicUrl}/login/social/${provider.id}/callback`;
}

/**
 * Starts a trip: records the state row (linking: owned by `linkUserId`) and returns the
 * provider's authorization URL and the cookie value (256 random bits; only its hash is
 * stored) that binds the trip to this browser. A provider whose discovery fails: a
 * SocialFailure (`provider_error`).
 */
export async function startTrip(ctx: Ctx, provider: SocialProvider, redirectTo: URL, linkUserId?: string) {
  const { db, now } = ctx;
  const trip = newTrip();
  const location = await authorizationUrl(provider, trip, callbackUrl(ctx, provider));
  const cookie = randomToken();
  const data: TripData = {
    provider: provider.id,
    ...trip,
    redirect_to: redirectTo.href,
    cookie: await sha256Hex(cookie),
  };
  await insertSingleUse(db, {
    id: crypto.randomUUID(),
    tokenHash: await sha256Hex(trip.state),
    purpose: "social_state",
    userId: linkUserId ?? null,
    data: JSON.stringify(data),
    createdAt: now,
    expiresAt: new Date(now.getTime() + STATE_TTL_SECONDS * 1000),
  });
  return { location, cookie };
}

/** A callback with no trusted place to send the browser: its state is unknown, expired
 * or used, or its cookie is missing. The route answers 400 with a small page. */
export class UntrustedCallback extends Error {}

/**
 * The callback: uses the state row up (a second use fails), checks the cookie, finishes
 * the trip and returns where to send the browser: `redirect_to` with `code=` (sign-in),
 * `linked=<provider>` (linking), or `error=<code>`. Throws UntrustedCallback when there is
 * no trusted `redirect_to`.
 */
export async function finishCallback(
  ctx: Ctx,
  provider: SocialProvider,
  params: URLSearchParams,
  cookie: string | undefined,
): Promise<string> {
  const { db, now } = ctx;
  const hash = await singleUseHash(params.get("state"));
  if (!hash || !cookie) throw new UntrustedCallback();
  const [row] = await consumeSingleUse(db, hash, "social_state", now);
  if (!row?.data) throw new UntrustedCallback();
  const data = JSON.parse(row.data) as TripData;
  const fail = (code: SocialFailure["code"], detail: string, userId?: string | null) =>
    failed(ctx, provider, data.redirect_to, new SocialFailure(code, detail), userId);
  if ((await sha256Hex(cookie)) !== data.cookie) return fail("invalid_state", "the cookie belongs to another trip");
  if (data.provider !== provider.id) return fail("invalid_state", `a trip to ${data.provider}`);
  let identity: ProviderIdentity;
  try {
    identity = await finishTrip(provider, params, data, callbackUrl(ctx, provider), now);
  } catch (err) {
    if (!(err instanceof SocialFailure)) throw err;
    return failed(ctx, provider, data.redirect_to, err, row.userId);
  }
  if (row.userId) return link(ctx, provider, identity, row.userId, data.redirect_to);
  return signInWith(ctx, provider, identity, data.redirect_to);
}

/** The redirect of a failure, logged, and audited as `social_login_failed` when an
 * account is concerned. */
async function failed(
  ctx: Ctx,
  provider: SocialProvider,
  redirectTo: string,
  failure: SocialFailure,
  userId?: string | null,
) {
  ctx.log("warn", "social_login_failed", { provider: provider.id, reason: failure.code, detail: failure.detail });
  const details: AuditDetails = { provider: provider.id, reason: failure.code };
  if (userId) await auditEvent(ctx.db, userEvent("social_login_failed", userId, ctx.source, details), ctx.now);
  return redirectWith(redirectTo, { error: failure.code });
}

/** Links `identity` to the signed-in user who started the trip: `linked=<provider>`, or
 * `identity_in_use` when another account has it. A link never changes the email. */
async function link(ctx: Ctx, provider: SocialProvider, identity: ProviderIdentity, userId: string, to: string) {
  const { db, now, source } = ctx;
  const [found] = await findIdentity(db, identity.issuer, identity.subject);
  if (found && found.user.id !== userId) {
    return failed(ctx, provider, to, new SocialFailure("identity_in_use", "linked to another account"), userId);
  }
  if (!found) {
    const event = userEvent("identity_linked", userId, source, { provider: provider.id });
    // Audited only if the link went in: a link that lost the race records nothing.
    const [inserted] = await db.batch(
      auditIfChanged(db, insertIdentity(db, identityRow(provider, identity, userId, now)), event, now),
    );
    if (inserted.length === 0) {
      return failed(ctx, provider, to, new SocialFailure("identity_in_use", "linked meanwhile"), userId);
    }
  }
  return redirectWith(to, { linked: provider.id });
}

function identityRow(provider: SocialProvider, identity: ProviderIdentity, userId: string, now: Date) {
  const email = identity.email ? inertText(identity.email, 320) : null;
  return {
    id: crypto.randomUUID(),
    userId,
    provider: provider.id,
    issuer: identity.issuer,
    subject: identity.subject,
    email,
    createdAt: now,
  };
}

/** Signs in with `identity`: its linked account, or (SOCIAL_AUTO_LINK=verified) the
 * account of the same verified email when the provider verified it too, or a new
 * account without a password. Success: `code=` for POST /login/exchange. */
async function signInWith(ctx: Ctx, provider: SocialProvider, identity: ProviderIdentity, to: string) {
  const { config, db, now, source } = ctx;
  const fail = (code: SocialFailure["code"], detail: string, userId?: string) =>
    failed(ctx, provider, to, new SocialFailure(code, detail), userId);
  const [found] = await findIdentity(db, identity.issuer, identity.subject);
  if (found) return issueCode(ctx, provider, found.user, to, []);
  const email = identity.email && canonicalEmail(identity.email.trim().normalize("NFC").toLowerCase());
  if (!email) return fail("email_required", "the provider gave no usable email");
  const existing = await findUserByEmail(db, email);
  if (existing) {
    if (existing.disabled) return fail("account_disabled", "disabled account", existing.id);
    const bothVerified = identity.emailVerified && existing.emailVerifiedAt !== null;
    if (config.social.autoLink !== "verified" || !bothVerified) {
      return fail("account_exists", `auto-link ${config.social.autoLink}, verified: ${bothVerified}`, existing.id);
    }
    const linked = userEvent("identity_linked", existing.id, source, { provider: provider.id, automatic: true });
    const row = identityRow(provider, identity, existing.id, now);
    return issueCode(ctx, provider, existing, to, [...auditIfChanged(db, insertIdentity(db, row), linked, now)]);
  }
  const names = namesOf(identity, email);
  const id = crypto.randomUUID();
  const emailVerifiedAt = identity.emailVerified ? now : null;
  const newUser = { id, email, ...names, passwordHash: NO_PASSWORD, emailVerifiedAt };
  const registered = userEvent("user_registered", id, source, { provider: provider.id });
  // The account, its user_registered event and its identity in one batch: each only if the
  // account's insert won (a registration that lost the address to another writes nothing).
  const [inserted] = await db.batch([
    ...auditIfChanged(db, insertUserQuery(db, newUser, now), registered, now),
    insertIdentityOfNewUser(db, identityRow(provider, identity, id, now)),
  ]);
  const [user] = inserted;
  if (!user) return fail("account_exists", "registered meanwhile");
  return issueCode(ctx, provider, user, to, []);
}

/** The one-time code for `user` (amr `fed`), with `also` and the `social_login` event in
 * one batch; a disabled account gets `account_disabled` instead. */
async function issueCode(ctx: Ctx, provider: SocialProvider, user: User, to: string, also: Statement[]) {
  const { db, now, source } = ctx;
  if (user.disabled) return failed(ctx, provider, to, new SocialFailure("account_disabled", "disabled"), user.id);
  const code = await mintLoginCode(ctx, user.id, SOCIAL_AMR);
  const event = userEvent("social_login", user.id, source, { provider: provider.id });
  await db.batch([code.insert, auditEvent(db, event, now), ...also]);
  return redirectWith(to, { code: code.value });
}

/** Names from the claims: given and family name, else `name` split at its last space,
 * else the email's local part; inert and at most 100 characters each. */
function namesOf(identity: ProviderIdentity, email: string) {
  let first = identity.givenName;
  let last = identity.familyName;
  if (!first && identity.name) {
    const name = identity.name.trim();
    const space = name.lastIndexOf(" ");
    first = space > 0 ? name.slice(0, space) : name;
    last ??= space > 0 ? name.slice(space + 1) : undefined;
  }
  first ||= email.slice(0, email.lastIndexOf("@"));
  return { firstName: inertText(first.trim(), NAME_LENGTH), lastName: inertText((last ?? "").trim(), NAME_LENGTH) };
}
