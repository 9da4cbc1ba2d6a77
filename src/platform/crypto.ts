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

/** SHA-256 of `text` (UTF-8), lowercase hex: what the database keeps instead of a token. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
  let hex = "";
  for (const byte of digest) hex += HEX[byte];
  return hex;
}
