import * as z from "zod/mini";
import { isCommonPassword, MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES, passwordBytes } from "./auth/passwords";
import { emailChecks, nameChecks, newEmailChecks, REQUIRED } from "./rules.mjs";

export { MAX_EMAIL_LENGTH, REQUIRED } from "./rules.mjs";

// Field rules shared by every route that takes them. zod/mini rather than zod: the
// same checks for a twentieth of the bundle.

/** A required string field: absent, `null` or blank is "All input is required". */
export const text = (field: string) =>
  z.string({ error: (issue) => (issue.input == null ? REQUIRED : `${field} must be a string`) });

/** Emails are compared in one canonical form: trimmed, NFC, lowercase (src/rules.mjs). */
export const email = () => text("email").check(...emailChecks());

/** An email as register accepts it. */
export const newEmail = () => text("email").check(...newEmailChecks());

/** A person's name: trimmed, plain text, 1 to 100 characters (src/rules.mjs). */
export const name = (field: string) => text(field).check(...nameChecks(field));

/** A new password: 8 to 72 bytes (bcrypt ignores what follows byte 72), any Unicode,
 * no composition rules, not one of the most common passwords. */
export const newPassword = (field: string) =>
  text(field).check(
    z.minLength(1, REQUIRED),
    z.refine((password) => {
      const bytes = passwordBytes(password);
      return bytes >= MIN_PASSWORD_BYTES && bytes <= MAX_PASSWORD_BYTES;
    }, `${field} must be ${MIN_PASSWORD_BYTES} to ${MAX_PASSWORD_BYTES} bytes of UTF-8 (bcrypt ignores anything past ${MAX_PASSWORD_BYTES}, so longer passwords are refused rather than cut)`),
    z.refine((password) => !isCommonPassword(password), "This password is too common"),
  );

/** A password being checked, not set: any non-empty string. */
export const password = (field: string) => text(field).check(z.minLength(1, REQUIRED));
