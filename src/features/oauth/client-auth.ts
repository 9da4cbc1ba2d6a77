import type { Ctx } from "../../platform/context";
import { equalInConstantTime, sha256Hex } from "../../platform/crypto";
import { findClient, type OAuthClient } from "./clients";
import { OAuthError } from "./errors";

// Client authentication at the token, revocation and introspection endpoints (RFC 6749
// §2.3.1, OpenID Connect Core §9): `client_secret_basic`, `client_secret_post`, or `none`
// for public clients (their `client_id` in the body, PKCE standing in for a secret).

/** The realm of `WWW-Authenticate: Basic` on a refused Basic authentication (RFC 6749 §5.2). */
const REALM = "oauth";

/** Longest client id or secret worth looking at (metadata-document ids are URLs). */
const MAX_CREDENTIAL = 2048;

/** How the client authenticated. */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "none";

/** The credentials a request carries: from `Authorization: Basic` (every spelling of them
 * to try, see `basicCredentials`) and the form's `client_id` / `client_secret`. */
type Presented = { candidates: { id: string; secret: string }[]; method: ClientAuthMethod };

/** RFC 6749 §2.3.1 form-url-decoding (`+` is a space), or undefined when `value` is not
 * valid percent-encoding. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/**
 * The id and secret of an `Authorization: Basic` header, or undefined when it is not one.
 * RFC 6749 §2.3.1 says both are form-url-encoded before base64 (oauth4webapi encodes `-` as
 * `%2D`); the MCP SDK sends them as they are. Both readings are returned, decoded first:
 * each is tried, so either client authenticates.
 */
export function basicCredentials(header: string): { id: string; secret: string }[] | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!match?.[1]) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(match[1]), (ch) => ch.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  const raw = { id: text.slice(0, colon), secret: text.slice(colon + 1) };
  const id = formDecode(raw.id);
  const secret = formDecode(raw.secret);
  const decoded = id !== undefined && secret !== undefined ? [{ id, secret }] : [];
  return decoded.some((one) => one.id === raw.id && one.secret === raw.secret) ? decoded : [...decoded, raw];
}

/** What the request presents, or `invalid_request` when it uses several methods at once
 * (RFC 6749 §2.3: a client MUST NOT use more than one) or none at all. */
function presented(authorization: string | undefined, form: Record<string, string>): Presented {
  const bodyId = form.client_id;
  const bodySecret = form.client_secret;
  if (authorization !== undefined && /^basic /i.test(authorization.trim())) {
    const candidates = basicCredentials(authorization);
    if (!candidates || candidates.length === 0) {
      throw new OAuthError("invalid_client", "The Basic credentials could not be read", 401, basic());
    }
    if (bodySecret !== undefined) {
      throw new OAuthError("invalid_request", "Use one client authentication method: Basic or client_secret, not both");
    }
    // A client_id beside Basic is tolerated when it names the same client.
    if (bodyId !== undefined && !candidates.some((one) => one.id === bodyId)) {
      throw new OAuthError("invalid_request", "client_id differs from the Basic credentials");
    }
    return { candidates, method: "client_secret_basic" };
  }
  if (bodyId === undefined || bodyId === "") {
    throw new OAuthError("invalid_client", "Client authentication is required (client_id)", 401);
  }
  if (bodySecret !== undefined)
    return { candidates: [{ id: bodyId, secret: bodySecret }], method: "client_secret_post" };
  return { candidates: [{ id: bodyId, secret: "" }], method: "none" };
}

function basic(): string {
  return `Basic realm="${REALM}"`;
}

/**
 * The client the request authenticates as, and how. Refused with 401 `invalid_client`
 * (and `WWW-Authenticate: Basic` when Basic was used): an unknown client, a wrong secret,
 * a public client sending a secret, a confidential client sending none. Secrets are
 * compared as SHA-256 hex in constant time.
 */
export async function authenticateClient(
  ctx: Ctx,
  authorization: string | undefined,
  form: Record<string, string>,
): Promise<{ client: OAuthClient; method: ClientAuthMethod }> {
  const { candidates, method } = presented(authorization, form);
  const fail = (description: string) =>
    new OAuthError("invalid_client", description, 401, method === "client_secret_basic" ? basic() : undefined);
  const tried = new Set<string>();
  for (const { id, secret } of candidates) {
    if (id.length > MAX_CREDENTIAL || secret.length > MAX_CREDENTIAL || tried.has(`${id}\n${secret}`)) continue;
    tried.add(`${id}\n${secret}`);
    const client = await findClient(ctx, id);
    if (!client) continue;
    if (client.type === "public" || client.secretHash === null) {
      if (method !== "none") throw fail("A public client authenticates with its client_id alone, no secret");
      return { client, method };
    }
    if (method === "none") throw fail("This client must authenticate with its client_secret");
    if (equalInConstantTime(await sha256Hex(secret), client.secretHash)) return { client, method };
  }
  throw fail("Client authentication failed");
}
