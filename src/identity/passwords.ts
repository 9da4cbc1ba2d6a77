import { compare, getRounds, hash } from "bcryptjs";
import { MAX_PASSWORD_BYTES, normalizePassword, passwordBytes } from "../platform/password-rules";

/** bcrypt hash of the NFC form of `password`, at `cost`. */
export function hashPassword(password: string, cost: number): Promise<string> {
  return hash(normalizePassword(password), cost);
}

/** The outcome of a password check; `rehash` asks the caller to store a fresh hash
 * (the hash is of a non-NFC form, or at another cost than the configured one). */
export type PasswordCheck = { valid: boolean; rehash: boolean };

/**
 * Checks `password` against `passwordHash`; without a hash (no such account, or `""`:
 * an account a social sign-in made, which has no password) it runs
 * the same comparisons against one no password matches, so timing says nothing about
 * which accounts exist. The NFC form is tried first. Hashes made before passwords were
 * normalized hold the form the client sent: when the NFC form fails and the input was
 * not in NFC, the input as sent is tried too, and a match asks for a rehash (to NFC).
 * A form over 72 bytes is never compared for real (bcrypt would cut it), except against
 * an `imported` hash: the tutorial's bcryptjs hashed the first 72 bytes of a longer
 * password, and bcryptjs given the whole string reads exactly those bytes again.
 * A failing comparison costs what one at `cost` costs, whatever the hash's own cost
 * (`spendMissingWork`), so timing does not single out imported accounts either.
 */
export async function checkPassword(
  password: string,
  passwordHash: string | undefined,
  cost: number,
  { imported = false }: { imported?: boolean } = {},
): Promise<PasswordCheck> {
  const stored = passwordHash || undefined;
  const nfc = normalizePassword(password);
  const forms = nfc === password ? [nfc] : [nfc, password];
  for (const [index, form] of forms.entries()) {
    const checkable = stored !== undefined && (imported || passwordBytes(form) <= MAX_PASSWORD_BYTES);
    const against = checkable ? stored : unmatchableHash(cost);
    if (await compare(form, against)) {
      return { valid: true, rehash: index > 0 || needsRehash(against, cost) };
    }
    await spendMissingWork(form, against, cost);
  }
  return { valid: false, rehash: false };
}

/**
 * After a failed comparison against `against`, the work a comparison at `cost` would
 * have taken on top. bcrypt's work doubles with each step of cost, so comparisons at the
 * hash's cost c, then c+1, ..., cost-1 add 2^cost - 2^c: with the one just made, 2^cost,
 * what a hash at `cost` (or an unknown address) costs. A hash above `cost` cannot be
 * checked for less than its own cost: such accounts answer failures slower until a
 * successful login rehashes them at `cost` (README, "Logins take the same time").
 */
async function spendMissingWork(form: string, against: string, cost: number): Promise<void> {
  for (let step = getRounds(against); step < cost; step++) await compare(form, unmatchableHash(step));
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
