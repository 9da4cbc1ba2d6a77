// The small crypto helpers every layer uses: encodings, random tokens, digests.

/** `bytes` as base64url without padding (RFC 4648 5). */
export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The bytes of base64url `text` (padding optional); throws on characters outside it. */
export function fromBase64url(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
}

/** An opaque random token: 256 bits, base64url (43 characters). Refresh tokens, mailed
 * links, `mfa_token`s and WebAuthn challenges are all made here. */
export function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

const utf8 = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** `bytes` as lowercase hex. */
function toHex(bytes: ArrayBuffer): string {
  let hex = "";
  for (const byte of new Uint8Array(bytes)) hex += HEX[byte];
  return hex;
}

/** SHA-256 of `text` (UTF-8), the 32 bytes. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
}

/** SHA-256 of `text` (UTF-8), lowercase hex: what the database keeps instead of a token. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex((await sha256(text)).buffer as ArrayBuffer);
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/** HMAC-SHA-256 (RFC 2104) of `text` under `key` (a secret setting's text, UTF-8),
 * lowercase hex. The CryptoKey is imported once per key and isolate. For short secrets
 * such as a 6-digit code, where a plain digest is undone by trying every value. */
export async function hmacSha256Hex(key: string, text: string): Promise<string> {
  let imported = hmacKeys.get(key);
  if (!imported) {
    imported = crypto.subtle.importKey("raw", utf8.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(key, imported);
  }
  return toHex(await crypto.subtle.sign("HMAC", await imported, utf8.encode(text)));
}

/** Whether two strings are equal, in a time that depends on their length only (workerd's
 * `crypto.subtle.timingSafeEqual`). Strings of different lengths are unequal. */
export function equalInConstantTime(a: string, b: string): boolean {
  const [left, right] = [utf8.encode(a), utf8.encode(b)];
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}
