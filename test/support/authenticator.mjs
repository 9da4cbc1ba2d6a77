import { encodeCBOR } from "@levischuck/tiny-cbor";

// A software WebAuthn authenticator for the tests and the benchmark: an ES256 key pair
// made with WebCrypto, attestation objects in CBOR with `fmt: "none"`, authenticator
// data with its flags and signature counter, and signed assertions. It answers what a
// browser's `PublicKeyCredential.toJSON()` would send. Plain JavaScript (types in
// authenticator.d.mts), so workerd tests and the bench (bench/lib/second-factors.mjs) share it.

const encoder = new TextEncoder();

/** @param {Uint8Array} bytes */
export function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** @param {...Uint8Array} parts */
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** @param {Uint8Array} bytes */
async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** WebCrypto signs ECDSA as r||s; WebAuthn wants an ASN.1 DER SEQUENCE of two INTEGERs. */
/** @param {Uint8Array} raw */
function derSignature(raw) {
  /** @param {Uint8Array} bytes */
  const integer = (bytes) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.slice(start);
    const value = (trimmed[0] ?? 0) & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed;
    return concat(new Uint8Array([0x02, value.length]), value);
  };
  const body = concat(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

/** One credential on a software authenticator. `counter` is what the next signature says. */
export class SoftwareAuthenticator {
  credentialId = crypto.getRandomValues(new Uint8Array(16));
  counter = 0;
  /** The user handle registration gave this credential (the API's user id, UTF-8). @type {string | undefined} */
  userHandle = undefined;

  /** @param {CryptoKeyPair} keys @param {boolean} synced a synced passkey sets the backup flags */
  constructor(keys, synced = false) {
    this.keys = keys;
    this.synced = synced;
  }

  static async create(synced = false) {
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    return new SoftwareAuthenticator(/** @type {CryptoKeyPair} */ (keys), synced);
  }

  get id() {
    return base64url(this.credentialId);
  }

  /** @param {boolean} uv */
  flags(uv, extra = 0) {
    return FLAG_UP | (uv ? FLAG_UV : 0) | (this.synced ? FLAG_BE | FLAG_BS : 0) | extra;
  }

  /** @param {string} rpId @param {number} flags @param {Uint8Array} [attested] */
  async authData(rpId, flags, attested) {
    const counter = new Uint8Array(4);
    new DataView(counter.buffer).setUint32(0, this.counter);
    return concat(await sha256(encoder.encode(rpId)), new Uint8Array([flags]), counter, attested ?? new Uint8Array());
  }

  /** @param {string} type @param {string} challenge @param {string} origin */
  clientData(type, challenge, origin) {
    return encoder.encode(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** `navigator.credentials.create()` answered for registration `options`. */
  async register(options, ceremony = {}) {
    const { origin = "http://localhost:5173", uv = true } = ceremony;
    const rpId = ceremony.rpId ?? options.rp?.id ?? "localhost";
    this.userHandle = options.user?.id;
    const jwk = await crypto.subtle.exportKey("jwk", this.keys.publicKey);
    const fromB64 = (text = "") =>
      Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
    // COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
    const coseKey = encodeCBOR(
      new Map([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromB64(jwk.x)],
        [-3, fromB64(jwk.y)],
      ]),
    );
    const idLength = new Uint8Array(2);
    new DataView(idLength.buffer).setUint16(0, this.credentialId.length);
    const attested = concat(new Uint8Array(16), idLength, this.credentialId, coseKey);
    const authData = await this.authData(rpId, this.flags(uv, FLAG_AT), attested);
    const attestationObject = encodeCBOR(
      new Map([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: base64url(this.clientData("webauthn.create", ceremony.challenge ?? options.challenge, origin)),
        attestationObject: base64url(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
    };
  }

  /** `navigator.credentials.get()` answered for authentication `options`; the counter
   * goes up by one first, as a real authenticator's does. */
  async assert(options, ceremony = {}) {
    const { origin = "http://localhost:5173", uv = true } = ceremony;
    const rpId = ceremony.rpId ?? options.rpId ?? "localhost";
    this.counter += 1;
    const authData = await this.authData(rpId, this.flags(uv));
    const clientData = this.clientData("webauthn.get", ceremony.challenge ?? options.challenge, origin);
    const signed = concat(authData, await sha256(clientData));
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.keys.privateKey, signed),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: base64url(clientData),
        authenticatorData: base64url(authData),
        signature: base64url(derSignature(raw)),
        ...(this.userHandle && { userHandle: this.userHandle }),
      },
      clientExtensionResults: {},
    };
  }
}
