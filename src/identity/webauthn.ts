import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { decodeClientDataJSON, isoBase64URL } from "@simplewebauthn/server/helpers";
import type { Ctx } from "../platform/context";
import type { SingleUsePurpose } from "../platform/schema";
import { consumeSingleUse, mintSingleUse, type SingleUseRow, singleUseHash } from "../platform/single-use";
import { inertText } from "../platform/text";
import { auditIfChanged, userEvent } from "./audit";
import {
  findPasskeyByCredential,
  findPasskeyOwner,
  insertPasskey,
  listPasskeys,
  type PasskeyRow,
  usePasskey,
} from "./queries/passkeys";
import type { User } from "./queries/users";

// Passkeys (WebAuthn Level 3) through @simplewebauthn/server. Challenges are single-use
// rows (src/platform/single-use-mint.ts): the challenge *is* the row's random value, so the one
// a response signed, read from its clientDataJSON, finds (and consumes) its row by hash.

/** Challenges live 5 minutes, as the issue asks (WebAuthn suggests a few minutes). */
const CHALLENGE_TTL_SECONDS = 5 * 60;

/** RFC 8176 `amr` value for a passkey: `hwk` for a key bound to one authenticator,
 * `swk` for a synced (multi-device) passkey, whose private key also lives in software. */
export type KeyAmr = "hwk" | "swk";
const amrOf = (row: PasskeyRow): KeyAmr => (row.deviceType === "multiDevice" ? "swk" : "hwk");

const transportsOf = (row: PasskeyRow) =>
  row.transports ? (JSON.parse(row.transports) as AuthenticatorTransportFuture[]) : undefined;

/** A new challenge for `purpose`: its options-ready bytes and the insert of its row. */
async function newChallenge(ctx: Ctx, purpose: SingleUsePurpose, userId: string | null, target?: string) {
  const minted = await mintSingleUse(
    ctx.db,
    purpose,
    { userId, ttlSeconds: CHALLENGE_TTL_SECONDS, target },
    new Date(),
  );
  return { ...minted, bytes: isoBase64URL.toBuffer(minted.value) };
}

/** The challenge a response signed, or undefined when its clientDataJSON is unreadable. */
function signedChallenge(response: { response?: { clientDataJSON?: unknown } }): string | undefined {
  try {
    const clientDataJSON = response.response?.clientDataJSON;
    if (typeof clientDataJSON !== "string" || clientDataJSON.length > 4096) return undefined;
    const { challenge } = decodeClientDataJSON(clientDataJSON);
    return typeof challenge === "string" ? challenge : undefined;
  } catch {
    return undefined;
  }
}

/** Consumes the challenge row the response signed: the row, or undefined when the
 * challenge is unknown, of another purpose, expired or already used. */
async function consumeChallenge(ctx: Ctx, purpose: SingleUsePurpose, response: object, now: Date) {
  const challenge = signedChallenge(response as { response?: { clientDataJSON?: unknown } });
  const hash = await singleUseHash(challenge);
  if (!challenge || !hash) return undefined;
  const [row] = await consumeSingleUse(ctx.db, hash, purpose, now);
  return row ? { row, challenge } : undefined;
}

/** Registration options for `user` (resident key and user verification preferred, the
 * user's existing passkeys excluded), with the challenge recorded. */
export async function registrationOptions(ctx: Ctx, user: User) {
  const { config, db } = ctx;
  const existing = await listPasskeys(db, user.id);
  const challenge = await newChallenge(ctx, "webauthn_register", user.id);
  const options = await generateRegistrationOptions({
    rpName: config.webauthn.rpName,
    rpID: config.webauthn.rpId,
    userName: user.email,
    userID: Uint8Array.from(new TextEncoder().encode(user.id)),
    userDisplayName: `${user.firstName} ${user.lastName}`,
    challenge: challenge.bytes,
    attestationType: "none",
    excludeCredentials: existing.map((row) => ({ id: row.credentialId, transports: transportsOf(row) })),
    authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
  });
  await challenge.insert;
  return options;
}

/** Verifies a registration response against the user's live challenge and stores the
 * passkey; the new row, or undefined for any failure (wrong origin, RP ID or
 * challenge, malformed response, credential already registered). */
export async function registerPasskey(ctx: Ctx, user: User, response: object, name: string, now: Date) {
  const { config, db } = ctx;
  const consumed = await consumeChallenge(ctx, "webauthn_register", response, now);
  if (!consumed || consumed.row.userId !== user.id) return undefined;
  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: consumed.challenge,
      expectedOrigin: [...config.webauthn.origins],
      expectedRPID: config.webauthn.rpId,
      requireUserVerification: false,
    });
  } catch (err) {
    ctx.log("info", "webauthn_register_refused", { reason: reasonOf(err) });
    return undefined;
  }
  const info = verification.registrationInfo;
  if (!verification.verified || !info) return undefined;
  const id = crypto.randomUUID();
  // `credential`: the passkey's id here (as GET /me/passkeys shows it), not the
  // authenticator's credential id; the audit log refuses detail names holding "key".
  const event = userEvent("passkey_added", user.id, ctx.source, { credential: id });
  // The event only if the passkey went in (a credential already registered does not).
  const [[row]] = await db.batch(
    auditIfChanged(
      db,
      insertPasskey(db, {
        id,
        userId: user.id,
        credentialId: info.credential.id,
        publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
        counter: info.credential.counter,
        transports: storedTransports(info.credential.transports),
        name,
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        createdAt: now,
      }),
      event,
      now,
    ),
  );
  return row;
}

/** Authentication options: for a passwordless login (`userId` null: discoverable
 * credentials, empty allowCredentials, user verification required) or for the second
 * factor of the login whose mfa_token hashes to `mfaTokenHash` (the user's passkeys). */
export async function authenticationOptions(ctx: Ctx, userId: string | null, mfaTokenHash?: string) {
  const { config, db } = ctx;
  const allow = userId ? await listPasskeys(db, userId) : [];
  const challenge = await newChallenge(ctx, "webauthn_login", userId, mfaTokenHash);
  const options = await generateAuthenticationOptions({
    rpID: config.webauthn.rpId,
    challenge: challenge.bytes,
    allowCredentials: allow.map((row) => ({ id: row.credentialId, transports: transportsOf(row) })),
    userVerification: userId ? "preferred" : "required",
    timeout: CHALLENGE_TTL_SECONDS * 1000,
  });
  await challenge.insert;
  return { options, challengeId: challenge.value };
}

/** Verifies an assertion with the stored passkey and moves its counter. A counter that
 * did not go forward is refused and logged (a cloned authenticator, or a replay). */
async function verifyAssertion(ctx: Ctx, key: PasskeyRow, response: object, challenge: string, requireUv: boolean) {
  const { config, db } = ctx;
  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verification = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: [...config.webauthn.origins],
      expectedRPID: config.webauthn.rpId,
      credential: { id: key.credentialId, publicKey: isoBase64URL.toBuffer(key.publicKey), counter: key.counter },
      requireUserVerification: requireUv,
    });
  } catch (err) {
    const reason = reasonOf(err);
    const regression = /counter/i.test(reason);
    ctx.log(regression ? "warn" : "info", regression ? "webauthn_counter_regression" : "webauthn_login_refused", {
      passkey_id: key.id,
      reason,
    });
    return false;
  }
  if (!verification.verified) return false;
  const moved = await usePasskey(db, key.id, key.counter, verification.authenticationInfo.newCounter, new Date());
  return moved.length > 0;
}

/** The credential id a response names, if it can be one. */
function credentialIdOf(response: object): string | undefined {
  const id = (response as { id?: unknown }).id;
  return typeof id === "string" && id.length > 0 && id.length <= 1024 ? id : undefined;
}

/** The credential a response names, if it is a stored passkey. */
async function storedKey(ctx: Ctx, response: object): Promise<PasskeyRow | undefined> {
  const id = credentialIdOf(response);
  return id === undefined ? undefined : (await findPasskeyByCredential(ctx.db, id))[0];
}

/** Passwordless login: the challenge `challengeId` names, the assertion it signed, a
 * stored passkey with user verification. The passkey row and its owner, or undefined. */
export async function verifyPasskeyLogin(ctx: Ctx, challengeId: string, response: object, now: Date) {
  const { db } = ctx;
  const challenge = signedChallenge(response as { response?: { clientDataJSON?: unknown } });
  const hash = await singleUseHash(challenge);
  const id = credentialIdOf(response);
  if (!challenge || !hash || !id || challenge !== challengeId) return undefined;
  // One round trip: the challenge used up, the passkey and its owner read.
  const [[row], [key], [user]] = await db.batch([
    consumeSingleUse(db, hash, "webauthn_login", now),
    findPasskeyByCredential(db, id),
    findPasskeyOwner(db, id),
  ]);
  if (!row || !isPasswordless(row) || !key || !user || user.id !== key.userId) return undefined;
  // A discoverable credential's userHandle, when sent, must name the key's owner.
  const userHandle = (response as { response?: { userHandle?: unknown } }).response?.userHandle;
  if (userHandle !== undefined && userHandle !== null && userHandle !== isoBase64URL.fromUTF8String(key.userId)) {
    return undefined;
  }
  return (await verifyAssertion(ctx, key, response, challenge, true)) ? { key, user, amr: amrOf(key) } : undefined;
}

/** The second factor of a login: an assertion over the challenge issued for the
 * mfa_token hashing to `mfaTokenHash`, by one of `userId`'s passkeys. Its `amr` value,
 * or undefined. */
export async function verifyPasskeyForMfa(
  ctx: Ctx,
  userId: string,
  mfaTokenHash: string,
  response: object,
  now: Date,
): Promise<KeyAmr | undefined> {
  const consumed = await consumeChallenge(ctx, "webauthn_login", response, now);
  if (!consumed || consumed.row.userId !== userId || consumed.row.target !== mfaTokenHash) return undefined;
  const key = await storedKey(ctx, response);
  if (!key || key.userId !== userId) return undefined;
  return (await verifyAssertion(ctx, key, response, consumed.challenge, false)) ? amrOf(key) : undefined;
}

const isPasswordless = (row: SingleUseRow) => row.userId === null && row.target === null;

/** At most this many transports are kept, each at most this long: the known ones
 * (`usb`, `nfc`, `ble`, `smart-card`, `hybrid`, `internal`) are short. */
const MAX_TRANSPORTS = 8;
const MAX_TRANSPORT_LENGTH = 32;

/** The transports a registration response reported, as stored: the browser's own list
 * passes through @simplewebauthn/server unchecked, so only strings are kept, inert and
 * bounded (they come back in GET /me/passkeys and in allowCredentials). */
function storedTransports(reported: unknown): string | null {
  if (!Array.isArray(reported)) return null;
  const kept = reported
    .filter((value): value is string => typeof value === "string")
    .slice(0, MAX_TRANSPORTS)
    .map((value) => inertText(value, MAX_TRANSPORT_LENGTH));
  return JSON.stringify(kept);
}

/** A log-safe reason: simplewebauthn's messages name values, never secrets; cut short. */
function reasonOf(err: unknown): string {
  return err instanceof Error ? (err.message.split("\n")[0]?.slice(0, 200) ?? err.name) : typeof err;
}
