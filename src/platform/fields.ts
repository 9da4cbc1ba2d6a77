/// <reference path="../types/node-url.d.ts" />
import { domainToASCII, domainToUnicode } from "node:url";
import * as z from "zod/mini";
import {
  isCommonPassword,
  MAX_PASSWORD_BYTES,
  MIN_PASSWORD_CHARS,
  normalizePassword,
  passwordBytes,
  passwordChars,
} from "./password-rules";
import { HIDDEN_CHARACTER } from "./text";

// Field rules shared by every route that takes them. zod/mini rather than zod: the
// same checks for a twentieth of the bundle.

/** The tutorial's message for a missing or empty field. */
export const REQUIRED = "All input is required";

export const MAX_EMAIL_LENGTH = 254;

/** A required string field: absent, `null` or blank is "All input is required". */
export const text = (field: string) =>
  z.string({ error: (issue) => (issue.input == null ? REQUIRED : `${field} must be a string`) });

/** Characters that a domain name is spelled with, besides letters, digits, `-` and `.`
 * of ASCII: any non-ASCII character that is visible (no controls, format characters,
 * spaces or default-ignorable code points, which IDNA would silently drop or refuse). */
const IDN_DOMAIN = /^(?:[a-z0-9.-]|(?![\p{Cc}\p{Cf}\p{Z}\p{Default_Ignorable_Code_Point}])[^\0-\x7f])+$/iu;

/**
 * `email` (already trimmed, NFC, lowercase) with its domain in one canonical ASCII form:
 * an internationalized domain becomes its A-labels (IDNA through UTS #46, as URLs do:
 * `münchen.de`, `MÜNCHEN.de`, `ｍüｎｃｈｅｎ.de`, `münchen。de` and `xn--mnchen-3ya.de`
 * are all `xn--mnchen-3ya.de`). An ASCII domain without `xn--` labels is returned as it
 * is. `undefined` when the domain is not a valid name: an `xn--` label that does not
 * decode, or invisible characters (which IDNA would silently drop). The part before `@`
 * is left alone.
 */
export function canonicalEmail(email: string): string | undefined {
  const at = email.lastIndexOf("@");
  const domain = email.slice(at + 1);
  if (at < 0 || (/^[\0-\x7f]*$/.test(domain) && !/(^|\.)xn--/.test(domain))) return email;
  if (!IDN_DOMAIN.test(domain)) return undefined;
  // Decoding then encoding again also puts a valid but unusual A-label in its one form;
  // an A-label that does not decode comes back unchanged, still starting with xn--.
  const unicode = domainToUnicode(domain);
  if (!unicode || !IDN_DOMAIN.test(unicode) || /(^|\.)xn--/.test(unicode)) return undefined;
  const ascii = domainToASCII(unicode);
  return ascii ? `${email.slice(0, at)}@${ascii}` : undefined;
}

/** The examples /docs shows for these fields: one account, the same everywhere, so that
 * "Try it out" on register and then on login (or any route that asks for the password
 * again) succeeds on a fresh server, where Swagger UI would otherwise send "string" and a
 * 200-character address generated from the email pattern. */
const EXAMPLES = {
  email: "ada@example.com",
  password: "correct horse battery staple",
  firstName: "Ada",
  lastName: "Lovelace",
};

/** Emails are compared in one canonical form: trimmed, NFC, lowercase, the domain in
 * ASCII (`canonicalEmail`). A login with an email that has no canonical form can match
 * no account; register refuses it. */
export const email = (field = "email") =>
  text(field).check(
    z.trim(),
    z.normalize("NFC"),
    z.toLowerCase(),
    z.overwrite((value) => canonicalEmail(value) ?? value),
    z.minLength(1, REQUIRED),
    z.meta({ examples: [EXAMPLES.email] }),
  );

/** What register says about an address it refuses. */
const invalidEmail = (field: string) =>
  `${field} must be a valid email address: the part before @ in ASCII letters, digits and . _ ' + -, the domain in any script`;

/** zod's practical email pattern, with internationalized top-level domains (`.xn--p1ai`)
 * accepted next to the all-letter ones. */
const EMAIL_PATTERN =
  /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]+)$/;

/** An email as register accepts it: RFC 5321 with an ASCII local part (RFC 6531
 * addresses, which need SMTPUTF8 from every mail server on the way, are refused) and
 * any domain name, internationalized ones stored in ASCII. */
export const newEmail = (field = "email") =>
  email(field).check(
    z.maxLength(MAX_EMAIL_LENGTH, `${field} must be at most ${MAX_EMAIL_LENGTH} characters`),
    z.refine((value) => canonicalEmail(value) === value, invalidEmail(field)),
    z.email({ pattern: EMAIL_PATTERN, error: invalidEmail(field) }),
  );

/** Characters that change how the text around them displays, or show nothing: the set
 * every stored or logged text is made inert of (`HIDDEN_CHARACTER`, src/platform/text.ts). */
const HIDDEN = HIDDEN_CHARACTER;
/** Zero-width (non-)joiners between two visible characters, where Persian, the Indic
 * scripts and emoji sequences need them: allowed there, nowhere else. */
const JOINER_IN_WORD = /(?<=[^\s\p{Cc}\p{Cf}\p{Z}])[\u200c\u200d](?=[^\s\p{Cc}\p{Cf}\p{Z}])/gu;
/** A character that shows: a letter, digit, punctuation or symbol, other than the
 * invisible ones (default-ignorable letters, U+2800 BRAILLE PATTERN BLANK). */
const VISIBLE = /(?![\p{Default_Ignorable_Code_Point}\u2800])[\p{L}\p{N}\p{P}\p{S}]/u;

/** True when `value` is well-formed Unicode free of the `HIDDEN` characters, joiners
 * inside a word aside. */
function isPlainText(value: string): boolean {
  return value.isWellFormed() && !HIDDEN.test(value.replace(JOINER_IN_WORD, ""));
}

/** A person's name: trimmed, NFC, 1 to 100 characters, plain text (`HIDDEN`) with at
 * least one visible character. */
export const name = (field: string) =>
  text(field).check(
    z.trim(),
    z.minLength(1, REQUIRED),
    z.refine(isPlainText, `${field} must be plain text`),
    z.refine((value) => VISIBLE.test(value), `${field} must contain at least one visible character`),
    z.normalize("NFC"),
    z.maxLength(100, `${field} must be at most 100 characters`),
    z.meta({ examples: [field === "lastName" ? EXAMPLES.lastName : EXAMPLES.firstName] }),
  );

/** A new password, counted in its NFC form (the form that is hashed): at least 8
 * characters (code points), at most 72 bytes of UTF-8 (bcrypt ignores what follows byte
 * 72), any Unicode, no composition rules, not one of the most common passwords. */
export const newPassword = (field: string) =>
  text(field).check(
    z.minLength(1, REQUIRED),
    z.overwrite(normalizePassword),
    z.refine(
      (password) => passwordChars(password) >= MIN_PASSWORD_CHARS,
      `${field} must be at least ${MIN_PASSWORD_CHARS} characters`,
    ),
    z.refine(
      (password) => passwordBytes(password) <= MAX_PASSWORD_BYTES,
      `${field} must be at most ${MAX_PASSWORD_BYTES} bytes of UTF-8 (bcrypt ignores anything past ${MAX_PASSWORD_BYTES}, so longer passwords are refused rather than cut)`,
    ),
    z.refine((password) => !isCommonPassword(password), "This password is too common"),
    z.meta({ examples: [EXAMPLES.password] }),
  );

/** A password being checked, not set: any non-empty string. */
export const password = (field: string) =>
  text(field).check(z.minLength(1, REQUIRED), z.meta({ examples: [EXAMPLES.password] }));

/** Where a response puts the refresh token: `"body"` (the default, as the tutorial's
 * clients expect) or `"cookie"` (an HttpOnly cookie page scripts cannot read; see
 * `deliverTokens` in src/identity/delivery.ts). */
export const refreshTransport = () =>
  z
    ._default(z.enum(["cookie", "body"], { error: 'refresh_transport must be "cookie" or "body"' }), "body")
    .check(
      z.describe(
        'Where the refresh token goes: "body" (in the JSON answer) or "cookie" (the HttpOnly __Secure-refresh_token cookie, Path=/token; for browsers)',
      ),
    );
