import { eq } from "drizzle-orm";
import type { OAuthConfig } from "../../platform/config-oauth";
import type { Ctx } from "../../platform/context";
import { parseIp } from "../../platform/http/client-ip";
import { oauthClients } from "../../platform/schema-oauth";
import { clientMetadataOf } from "./client-metadata";
import { defaultName, parseUrl } from "./client-rules";
import { OAuthError } from "./errors";

// Client ID Metadata Documents (the MCP authorization spec's draft,
// draft-ietf-oauth-client-id-metadata-document): a `client_id` that is an https URL names
// a JSON document of client metadata served there. It is fetched with a 5 s timeout, at
// most 5 KiB, no redirects, never from a private, loopback or link-local address (outside
// dev/test), and cached in oauth_clients (registration `metadata_document`) as its
// Cache-Control allows, between 5 minutes and 24 hours.
//
// Workers cannot resolve a name before fetching it: literal addresses and local names are
// refused here; a public name that resolves to a private address is the platform's to stop
// (Cloudflare's fetch does not reach private networks).

/** Fetch limits: the whole exchange, and the body (read as a stream, cut past it). */
export const DOCUMENT_TIMEOUT_MS = 5_000;
export const DOCUMENT_MAX_BYTES = 5 * 1024;
/** Cache lifetimes: at least, at most, and when the document says nothing. */
export const DOCUMENT_MIN_TTL = 5 * 60;
export const DOCUMENT_MAX_TTL = 24 * 3600;

/** Host names that never leave the machine or the site (RFC 6761 §6.3, RFC 6762, and the
 * private-use `.internal`). */
const LOCAL_NAME = /(^|\.)(localhost|local|internal)$/;

/** Whether an address is not a public one: unspecified, loopback, private (RFC 1918, RFC
 * 4193), shared (RFC 6598), link-local (RFC 3927, RFC 4291), benchmarking, multicast or
 * reserved. */
function privateAddress(host: string): boolean {
  const ip = parseIp(host.startsWith("[") ? host.slice(1, -1) : host);
  if (!ip) return false;
  if (ip.version === 6) {
    const { groups } = ip;
    const [first = 0] = groups;
    const all = groups.every((group) => group === 0);
    const loopback = groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1;
    if (all || loopback || (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00) {
      return true;
    }
    // An IPv4 address carried in IPv6 (IPv4-compatible ::/96, NAT64 64:ff9b::/96, RFC 6052;
    // 6to4 2002::/16, RFC 3056) is as private as the address it carries; mapped ones
    // (::ffff:0:0/96) parseIp already turned into IPv4.
    const embedded = (high = 0, low = 0) => privateAddress([high >> 8, high & 255, low >> 8, low & 255].join("."));
    const head = groups.slice(0, 6).join();
    if (head === "0,0,0,0,0,0" || head === "100,65435,0,0,0,0") return embedded(groups[6], groups[7]);
    if (first === 0x2002) return embedded(groups[1], groups[2]);
    return false;
  }
  const [a = 0, b = 0] = ip.address.split(".").map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19))
  );
}

/**
 * The URL of a metadata document `clientId` names, or undefined when it names none we may
 * fetch: `https://` with a path (not `/`), no fragment, no credentials, a public host (no
 * literal private/loopback/link-local address, no `localhost`, `*.localhost`, `*.local`,
 * `*.internal`). With `localDocuments` (ENVIRONMENT dev or test) any https host and
 * `http://localhost` or `http://127.0.0.1` on any port are allowed too.
 */
export function documentUrl(clientId: string, oauth: Pick<OAuthConfig, "localDocuments">): URL | undefined {
  const url = parseUrl(clientId);
  if (!url || clientId.includes("#") || url.username !== "" || url.password !== "") return undefined;
  if (url.pathname === "/" || url.pathname === "") return undefined;
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (url.protocol === "http:") {
    return oauth.localDocuments && (host === "localhost" || host === "127.0.0.1") ? url : undefined;
  }
  if (url.protocol !== "https:") return undefined;
  if (!oauth.localDocuments && (LOCAL_NAME.test(host) || privateAddress(host))) return undefined;
  return url;
}

/** Why a document was refused (logged, never sent: the authorize page says only that the
 * client is unknown). */
class Refused extends Error {}

/** Seconds a document may be cached: `no-store` or `no-cache` 0 (used for this request only),
 * else `max-age` within 5 minutes and 24 hours, else 5 minutes. */
export function documentTtl(cacheControl: string | null): number {
  const directives = (cacheControl ?? "")
    .toLowerCase()
    .split(",")
    .map((part) => part.trim());
  if (directives.some((part) => part === "no-store" || part === "no-cache")) return 0;
  const maxAge = directives.map((part) => /^max-age=(\d{1,10})$/.exec(part)?.[1]).find((value) => value !== undefined);
  if (maxAge === undefined) return DOCUMENT_MIN_TTL;
  return Math.min(DOCUMENT_MAX_TTL, Math.max(DOCUMENT_MIN_TTL, Number(maxAge)));
}

/** Reads at most DOCUMENT_MAX_BYTES of `body` before `deadline` rejects. */
async function readCapped(body: ReadableStream<Uint8Array>, deadline: Promise<never>): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const read = reader.read().catch((err: unknown) => {
        throw new Refused(`cut off (${err instanceof Error ? err.message : "read failed"})`);
      });
      const { done, value } = await Promise.race([read, deadline]);
      if (done) break;
      size += value.byteLength;
      if (size > DOCUMENT_MAX_BYTES) throw new Refused(`larger than ${DOCUMENT_MAX_BYTES} bytes`);
      chunks.push(value);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** The document at `url` as a JSON object and how long it may be cached. */
async function fetchDocument(url: URL): Promise<{ body: Record<string, unknown>; ttl: number }> {
  const signal = AbortSignal.timeout(DOCUMENT_TIMEOUT_MS);
  const deadline = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(new Refused(`no answer within ${DOCUMENT_TIMEOUT_MS} ms`)));
  });
  // The deadline also rejects after a success, when nobody waits for it any more.
  deadline.catch(() => {});
  const res = await Promise.race([
    // workerd rejects a refused or dropped connection with a plain Error ("Network connection lost").
    fetch(url, { redirect: "manual", signal, headers: { accept: "application/json" } }).catch((err: unknown) => {
      throw new Refused(`unreachable (${err instanceof Error ? err.message : "fetch failed"})`);
    }),
    deadline,
  ]);
  if (res.status !== 200) {
    res.body?.cancel().catch(() => {});
    throw new Refused(res.status >= 300 && res.status < 400 ? "a redirect (not followed)" : `status ${res.status}`);
  }
  if (Number(res.headers.get("content-length") ?? 0) > DOCUMENT_MAX_BYTES) {
    res.body?.cancel().catch(() => {});
    throw new Refused(`larger than ${DOCUMENT_MAX_BYTES} bytes`);
  }
  const bytes = res.body ? await readCapped(res.body, deadline) : new Uint8Array();
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new Refused("not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Refused("not a JSON object");
  return { body: body as Record<string, unknown>, ttl: documentTtl(res.headers.get("cache-control")) };
}

/**
 * Fetches the metadata document `clientId` (= `url`) names, checks it (its `client_id`
 * equal to the URL character for character, `redirect_uris` required, public clients only:
 * `token_endpoint_auth_method` none) and caches it in oauth_clients until its Cache-Control
 * runs out. Returns the stored row, or undefined when the document is refused (logged as
 * `oauth_client_document_refused` with the reason).
 */
export async function fetchClientDocument(ctx: Ctx, clientId: string, url: URL) {
  try {
    const { body, ttl } = await fetchDocument(url);
    if (body.client_id !== clientId) throw new Refused("its client_id is not its URL");
    const metadata = clientMetadataOf(body, ctx.config, "document");
    const values = {
      clientName: metadata.clientName ?? defaultName([clientId], clientId),
      type: "public" as const,
      secretHash: null,
      tokenEndpointAuthMethod: "none",
      redirectUris: JSON.stringify(metadata.redirectUris),
      grantTypes: JSON.stringify(metadata.grantTypes),
      scope: metadata.scope === null ? null : metadata.scope.join(" "),
      metadata: Object.keys(metadata.extra).length === 0 ? null : JSON.stringify(metadata.extra),
      updatedAt: ctx.now,
      expiresAt: new Date(ctx.now.getTime() + ttl * 1000),
    };
    const [row] = await ctx.db
      .insert(oauthClients)
      .values({ clientId, registration: "metadata_document", firstParty: false, createdAt: ctx.now, ...values })
      // Only a cached document is ever overwritten by a document.
      .onConflictDoUpdate({
        target: oauthClients.clientId,
        set: values,
        setWhere: eq(oauthClients.registration, "metadata_document"),
      })
      .returning();
    return row;
  } catch (err) {
    if (!(err instanceof Refused || err instanceof OAuthError || isFetchFailure(err))) throw err;
    const reason = err instanceof OAuthError ? `${err.error}: ${err.description}` : String((err as Error).message);
    ctx.log("warn", "oauth_client_document_refused", { client_id: clientId, reason });
    return undefined;
  }
}

/** A network failure, DNS failure, reset or abort of the fetch itself. */
function isFetchFailure(err: unknown): boolean {
  return (
    err instanceof TypeError || (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"))
  );
}
