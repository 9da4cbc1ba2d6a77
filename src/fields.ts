import * as z from "zod/mini";
import { isCommonPassword, MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES, passwordBytes } from "./auth/passwords";

// Field rules shared by every route that takes them. zod/mini rather than zod: the
// same checks for a twentieth of the bundle.

/** The tutorial's message for a missing or empty field. */
export const REQUIRED = "All input is required";

export const MAX_EMAIL_LENGTH = 254;
const CONTROL_CHARS = /\p{Cc}/u;

/** A required string field: absent, `null` or blank is "All input is required". */
export const text = (field: string) =>
  z.string({ error: (issue) => (issue.input == null ? REQUIRED : `${field} must be a string`) });

/** Emails are compared in one canonical form: trimmed, NFC, lowercase. */
export const email = () => text("email").check(z.trim(), z.normalize("NFC"), z.toLowerCase(), z.minLength(1, REQUIRED));

/** An email as register accepts it. */
export const newEmail = () =>
  email().check(
    z.maxLength(MAX_EMAIL_LENGTH, `email must be at most ${MAX_EMAIL_LENGTH} characters`),
    z.email({ error: "email must be a valid email address" }),
  );

/** A person's name: trimmed, plain text, 1 to 100 characters. */
export const name = (field: string) =>
  text(field).check(
    z.trim(),
    z.minLength(1, REQUIRED),
    z.refine((value) => value.isWellFormed() && !CONTROL_CHARS.test(value), `${field} must be plain text`),
    z.normalize("NFC"),
    z.maxLength(100, `${field} must be at most 100 characters`),
  );

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

/** Where a response puts the refresh token: `"body"` (the default, as the tutorial's
 * clients expect) or `"cookie"` (an HttpOnly cookie page scripts cannot read; see
 * `deliverTokens` in src/middleware/refresh-cookie.ts). */
export const refreshTransport = () =>
  z
    ._default(z.enum(["cookie", "body"], { error: 'refresh_transport must be "cookie" or "body"' }), "body")
    .check(
      z.describe(
        'Where the refresh token goes: "body" (in the JSON answer) or "cookie" (the HttpOnly __Secure-refresh_token cookie, Path=/token; for browsers)',
      ),
    );
