import * as z from "zod/mini";
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
