import * as z from "zod/mini";
import type { PasskeyRow } from "../../identity/queries/passkeys";
import { name, password, REQUIRED, refreshTransport, text } from "../../platform/fields";
import { doc, named, timestamp, uuid } from "../../platform/openapi/describe";
/** A passkey as GET /me/passkeys lists it (src/identity/queries/passkeys.ts `passkeyJson`). */
export const passkeySchema = named(
  "Passkey",
  z.object({
    id: uuid("The passkey id, for PATCH and DELETE /me/passkeys/{id}"),
    name: z.string(),
    created_at: timestamp(),
    last_used_at: z.nullable(timestamp()),
    device_type: doc(z.enum(["singleDevice", "multiDevice"]), "multiDevice: a synced passkey"),
    backed_up: z.boolean(),
    transports: z.array(z.string()),
  }),
);

export const passkeyList = named("PasskeyList", z.object({ passkeys: z.array(passkeySchema) }));

/** WebAuthn options, passed through from @simplewebauthn/server. */
const webauthnOptions = (what: string) =>
  doc(
    z.record(z.string(), z.unknown()),
    `${what}, as @simplewebauthn/browser and PublicKeyCredential.parseXOptionsFromJSON take them`,
  );

export const registrationOptionsJson = named(
  "RegistrationOptions",
  webauthnOptions("PublicKeyCredentialCreationOptionsJSON"),
);
export const authenticationOptionsJson = named(
  "AuthenticationOptions",
  z.object({ options: webauthnOptions("PublicKeyCredentialRequestOptionsJSON") }),
);
export const passkeyLoginOptions = named(
  "PasskeyLoginOptions",
  z.object({
    options: webauthnOptions("PublicKeyCredentialRequestOptionsJSON"),
    challenge_id: doc(z.string(), "Send back with the response to POST /login/passkey"),
  }),
);

/** A WebAuthn response as the browser's `PublicKeyCredential.toJSON()` gives it;
 * @simplewebauthn/server checks its members. */
export const credential = (field: string) =>
  z.record(z.string(), z.unknown(), {
    error: (issue) => (issue.input == null ? REQUIRED : `${field} must be an object`),
  });

export const newPasskeyBody = named(
  "NewPasskeyBody",
  z.object({ response: credential("response"), name: z.optional(name("name")) }),
);
export const renamePasskeyBody = named("RenamePasskeyBody", z.object({ name: name("name") }));
export const deletePasskeyBody = named(
  "DeletePasskeyBody",
  z.object({
    password: z.optional(password("password")),
    code: z.optional(text("code").check(z.minLength(1, REQUIRED), z.maxLength(64, "code is not valid"))),
  }),
);
export const passkeyLoginBody = named(
  "PasskeyLoginBody",
  z.object({
    challenge_id: text("challenge_id").check(z.minLength(1, REQUIRED), z.maxLength(256, "challenge_id is not valid")),
    response: credential("response"),
    refresh_transport: refreshTransport(),
  }),
);

/** A passkey as the API shows it: never the public key or the counter's history. */
export function passkeyJson(row: PasskeyRow) {
  return {
    id: row.id,
    name: row.name,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    device_type: row.deviceType,
    backed_up: row.backedUp,
    transports: row.transports ? (JSON.parse(row.transports) as string[]) : [],
  };
}
