// `npm run -s totp -- <secret> [time-ms]`: the 6-digit TOTP code an authenticator app
// shows for <secret> (base32, as POST /me/mfa/totp answers it) now, or at time-ms
// (milliseconds since the epoch). The same library and parameters as the API (otpauth:
// SHA-1, 6 digits, 30 s). otpauth resolves from this file, not from the working
// directory, so `node <checkout>/scripts/totp.mjs <secret>` works from anywhere.
import { Secret, TOTP } from "otpauth";

const [secret, at] = process.argv.slice(2);
if (!secret || (at !== undefined && !/^\d+$/.test(at))) {
  console.error("usage: npm run -s totp -- <base32 secret> [time in ms since the epoch]");
  process.exit(2);
}
let key;
try {
  key = Secret.fromBase32(secret.replace(/\s+/g, "").toUpperCase());
} catch {
  console.error("totp: the secret is not base32 (A-Z, 2-7), as POST /me/mfa/totp answers it");
  process.exit(2);
}
console.log(new TOTP({ secret: key }).generate({ timestamp: at === undefined ? Date.now() : Number(at) }));
