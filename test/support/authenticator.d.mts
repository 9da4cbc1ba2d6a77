// Types for authenticator.mjs, so TypeScript tests can drive the software authenticator.

/** What the "browser" does differently from a faithful ceremony. */
export type Ceremony = {
  /** The origin put in clientDataJSON (default http://localhost:5173). */
  origin?: string;
  /** The RP ID whose hash starts the authenticator data (default: the options' RP ID). */
  rpId?: string;
  /** User verification done (PIN, biometrics). Default true. */
  uv?: boolean;
  /** Signs this challenge instead of the one in the options. */
  challenge?: string;
};

/** The members of registration or authentication options JSON the authenticator reads. */
export type Options = { challenge: string; rp?: { id?: string }; rpId?: string; user?: { id: string } };

export type CredentialJson = {
  id: string;
  rawId: string;
  type: "public-key";
  response: Record<string, unknown>;
  clientExtensionResults: Record<string, never>;
};

export function base64url(bytes: Uint8Array): string;

/** One credential on a software authenticator. `counter` is what the next signature says. */
export class SoftwareAuthenticator {
  readonly credentialId: Uint8Array;
  counter: number;
  userHandle: string | undefined;
  static create(synced?: boolean): Promise<SoftwareAuthenticator>;
  get id(): string;
  /** `navigator.credentials.create()` answered for registration `options`. */
  register(options: Options, ceremony?: Ceremony): Promise<CredentialJson>;
  /** `navigator.credentials.get()` answered for `options`; the counter goes up by one first. */
  assert(options: Options, ceremony?: Ceremony): Promise<CredentialJson>;
}
