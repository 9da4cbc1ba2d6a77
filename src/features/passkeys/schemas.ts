import * as z from "zod/mini";
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
