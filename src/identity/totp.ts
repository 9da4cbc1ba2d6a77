import { Secret, TOTP } from "otpauth";
import { renderSVG } from "uqr";
import { fromBase64url as fromBase64Url, sha256Hex, base64url as toBase64Url } from "../platform/crypto";

// TOTP as RFC 6238 and the Key URI Format fix it for authenticator apps: SHA-1, six
// digits, 30-second steps. The otpauth library computes codes, URIs and the
// constant-time comparison; this module adds the encryption at rest and the step
// bookkeeping that refuses replays.

const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** RFC 4226 recommends at least 128 bits and suggests 160; authenticator apps expect 160. */
const SECRET_BYTES = 20;
/** Steps accepted either side of now, for clock drift (RFC 6238 section 5.2). */
const DRIFT_STEPS = 1;

/** A fresh 160-bit TOTP secret, base32 (as authenticator apps type it). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

function totpOf(secretBase32: string, issuer = "", label = "") {
  return new TOTP({
    issuer,
    label,
    issuerInLabel: true,
    secret: Secret.fromBase32(secretBase32),
    algorithm: "SHA1",
    digits: DIGITS,
    period: PERIOD_SECONDS,
  });
}

/** The `otpauth://totp/<issuer>:<email>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`
 * URI apps read from the QR code, and that QR code as an SVG document. */
export function enrolment(secretBase32: string, issuer: string, email: string) {
  const uri = totpOf(secretBase32, issuer, email).toString();
  return { uri, svg: renderSVG(uri, { ecc: "M" }) };
}

/** The 30-second time step of `at` (RFC 6238's T). */
export function timeStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / PERIOD_SECONDS);
}

/** The time step `code` is valid for at `at` (now, one step before or after), or
 * undefined when it is none of them. The caller refuses a step at or before the last
 * one used. Comparison is constant-time (otpauth). */
export function matchingStep(secretBase32: string, code: string, at: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totpOf(secretBase32).validate({ token: code, timestamp: at.getTime(), window: DRIFT_STEPS });
  return delta === null ? undefined : timeStep(at) + delta;
}

/** The code for `at`; for tests and the demo's documentation only. */
export function totpCode(secretBase32: string, at: Date): string {
  return totpOf(secretBase32).generate({ timestamp: at.getTime() });
}

// Encryption at rest: AES-256-GCM under a key derived with HKDF-SHA-256 from
// MFA_ENCRYPTION_KEY, with the user id as associated data so a ciphertext copied to
// another account's row does not decrypt.

const keys = new Map<string, Promise<CryptoKey>>();

function encryptionKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]).then((base) =>
      crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(0),
          info: new TextEncoder().encode("edge-auth totp secret v1"),
        },
        base,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      ),
    );
    keys.set(secret, key);
  }
  return key;
}

/** `secretBase32` encrypted for `userId`: base64url of a 96-bit IV followed by the ciphertext. */
export async function encryptTotpSecret(mfaKey: string, userId: string, secretBase32: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(userId) },
    await encryptionKey(mfaKey),
    new TextEncoder().encode(secretBase32),
  );
  const out = new Uint8Array(iv.length + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), iv.length);
  return toBase64Url(out);
}

/** The inverse of `encryptTotpSecret`; throws when the key or the user id differs. */
export async function decryptTotpSecret(mfaKey: string, userId: string, stored: string): Promise<string> {
  const bytes = fromBase64Url(stored);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: new TextEncoder().encode(userId) },
    await encryptionKey(mfaKey),
    bytes.slice(12),
  );
  return new TextDecoder().decode(plain);
}

// Recovery codes: ten per set, 12 characters of Crockford's base32 (60 bits each),
// shown in three groups of four. High-entropy, so a plain SHA-256 is enough to store.

const RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const RECOVERY_CODE_COUNT = 10;

/** Ten fresh recovery codes such as `7KQ2-M9XD-4TNB`. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    // 32 divides 256, so `byte & 31` picks every character with the same probability.
    const chars = [...crypto.getRandomValues(new Uint8Array(12))].map((byte) => RECOVERY_ALPHABET[byte & 31]);
    return [0, 4, 8].map((at) => chars.slice(at, at + 4).join("")).join("-");
  });
}

/** The SHA-256 a recovery code is stored and looked up by; case, spaces and dashes do
 * not matter, and Crockford's look-alikes (O, I, L) read as 0, 1, 1. Undefined for
 * anything that cannot be a code. */
export async function recoveryCodeHash(code: string): Promise<string | undefined> {
  const normal = code.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  if (!/^[0-9A-HJKMNP-TV-Z]{12}$/.test(normal)) return undefined;
  return sha256Hex(normal);
}
