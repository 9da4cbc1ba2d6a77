import { compare, getRounds, hash } from "bcryptjs";
import commonPasswords from "./common-passwords";

/** bcrypt reads only the first 72 bytes; longer passwords are refused, never cut. */
export const MAX_PASSWORD_BYTES = 72;
export const MIN_PASSWORD_BYTES = 8;

const utf8 = new TextEncoder();

export function passwordBytes(password: string): number {
  return utf8.encode(password).length;
}

export function hashPassword(password: string, cost: number): Promise<string> {
  return hash(password, cost);
}

export function verifyPassword(password: string, passwordHash: string): Promise<boolean> {
  return compare(password, passwordHash);
}

let common: Set<string> | undefined;

/** True for one of the most common passwords, in any letter case. No network call:
 * the list ships in the bundle (see scripts/build-common-passwords.mjs). */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(commonPasswords.split("\n"));
  return common.has(password.toLowerCase());
}

/** True when `passwordHash` was made at another cost than `cost`. */
export function needsRehash(passwordHash: string, cost: number): boolean {
  return getRounds(passwordHash) !== cost;
}

/** A syntactically valid bcrypt hash that no password matches. Comparing against it
 * costs the same CPU as a real check, so unknown emails answer as slowly as known ones. */
export function unmatchableHash(cost: number): string {
  return `$2b$${String(cost).padStart(2, "0")}$${"x".repeat(53)}`;
}

/** Spends one bcrypt comparison at `cost` and always fails. */
export async function burnPasswordCheck(password: string, cost: number): Promise<false> {
  await compare(password, unmatchableHash(cost));
  return false;
}
