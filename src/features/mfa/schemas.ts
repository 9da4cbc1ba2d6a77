import * as z from "zod/mini";
import { mfaTokenBody } from "../../identity/sign-in";
import { password, REQUIRED, refreshTransport, text } from "../../platform/fields";
import { doc, named } from "../../platform/openapi/describe";
export const totpEnrolment = named(
  "TotpEnrolment",
  z.object({
    secret: doc(z.string(), "160 bits, base32: for typing into an authenticator app"),
    otpauth_uri: doc(z.string(), "otpauth://totp/APP_NAME:email?issuer=…&secret=…&algorithm=SHA1&digits=6&period=30"),
    qr_svg: doc(z.string(), "An SVG document: the QR code of otpauth_uri"),
  }),
);

export const recoveryCodes = named(
  "RecoveryCodes",
  z.object({ recovery_codes: doc(z.array(z.string()), "Ten single-use codes such as 7KQ2-M9XD-4TNB, shown once") }),
);

/** A TOTP code or a recovery code as typed: short strings only. */
export const code = (field: string) =>
  text(field).check(z.minLength(1, REQUIRED), z.maxLength(64, `${field} is not valid`));

export const totpEnrolBody = named("TotpEnrolBody", z.object({ password: password("password") }));
export const totpCodeBody = named("TotpCodeBody", z.object({ code: code("code") }));
export const totpDisableBody = named(
  "TotpDisableBody",
  z.object({ password: password("password"), code: code("code") }),
);
export const loginMfaBody = named(
  "LoginMfaBody",
  z.object({
    ...mfaTokenBody.shape,
    code: z.optional(code("code")),
    recovery_code: z.optional(code("recovery_code")),
    webauthn: z.optional(z.record(z.string(), z.unknown())),
    refresh_transport: refreshTransport(),
  }),
);
