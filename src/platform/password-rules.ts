import commonPasswords from "./common-passwords";

// The rules a new password follows (src/platform/fields.ts applies them), apart from how
// passwords are hashed and checked (src/identity/passwords.ts).

/** bcrypt reads only the first 72 bytes; longer passwords are refused, never cut. */
export const MAX_PASSWORD_BYTES = 72;
/** At least this many characters: Unicode code points of the NFC form (ASVS v5 6.2.1,
 * NIST SP 800-63B 3.1.1.2), not bytes and not UTF-16 units. */
export const MIN_PASSWORD_CHARS = 8;

const utf8 = new TextEncoder();

/** A password as it is hashed and compared: NFC (NIST SP 800-63B 3.1.1.2), so a
 * password typed precomposed and decomposed is the same password. */
export function normalizePassword(password: string): string {
  return password.normalize("NFC");
}

/** UTF-8 bytes of `password` as given (callers pass the NFC form). */
export function passwordBytes(password: string): number {
  return utf8.encode(password).length;
}

/** Characters (code points) of `password` as given (callers pass the NFC form). */
export function passwordChars(password: string): number {
  let count = 0;
  for (const _ of password) count++;
  return count;
}

let common: Set<string> | undefined;

/** True for one of the most common passwords, in any letter case and Unicode form.
 * No network call: the list ships in the bundle (see scripts/build-common-passwords.mjs). */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(commonPasswords.split("\n"));
  return common.has(normalizePassword(password).toLowerCase());
}
