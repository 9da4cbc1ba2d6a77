// Field rules as zod/mini checks in plain JavaScript, so the API (src/fields.ts) and
// the Node scripts (scripts/import-users.mjs) apply one definition, not two copies.
import * as z from "zod/mini";

/** The tutorial's message for a missing or empty field. */
export const REQUIRED = "All input is required";

export const MAX_EMAIL_LENGTH = 254;
const CONTROL_CHARS = /\p{Cc}/u;

/** How every email is compared and stored: trimmed, NFC, lowercase, not empty. */
export const emailChecks = () => [z.trim(), z.normalize("NFC"), z.toLowerCase(), z.minLength(1, REQUIRED)];

/** An email as /register accepts it: the canonical form, at most 254 characters, valid. */
export const newEmailChecks = () => [
  ...emailChecks(),
  z.maxLength(MAX_EMAIL_LENGTH, `email must be at most ${MAX_EMAIL_LENGTH} characters`),
  z.email({ error: "email must be a valid email address" }),
];

/** A person's name: trimmed, plain text, NFC, 1 to 100 characters. */
export const nameChecks = (field) => [
  z.trim(),
  z.minLength(1, REQUIRED),
  z.refine((value) => value.isWellFormed() && !CONTROL_CHARS.test(value), `${field} must be plain text`),
  z.normalize("NFC"),
  z.maxLength(100, `${field} must be at most 100 characters`),
];
