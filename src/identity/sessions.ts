import type { Context } from "hono";
import type { Config } from "../platform/config";
import { parseIp } from "../platform/http/client-ip";
import { inertText } from "../platform/text";
import type { AuditSource } from "./audit";
import type { Client } from "./queries/sessions";
import { issueAccessToken, type TokenSubject } from "./tokens";

const MAX_USER_AGENT = 256;

/** The client's address comes only from Cloudflare's `CF-Connecting-IP`: headers
 * such as X-Forwarded-For are set by whoever sends the request. The user agent is made
 * inert (`inertText`) before sessions and the audit log store it. */
export function clientOf(c: Context): Client {
  const userAgent = inertText(c.req.header("user-agent") ?? "", MAX_USER_AGENT) || null;
  const ip = c.req.header("cf-connecting-ip")?.trim() ?? "";
  return { userAgent, ip: parseIp(ip) ? ip : null };
}

/** Longest request id kept: hono/request-id takes one from `X-Request-Id` up to this long. */
const MAX_REQUEST_ID = 255;

/** Where a request came from, as the audit log records it (src/identity/audit.ts). A request id
 * a client sent is made inert like the user agent (hono/request-id already refuses all
 * but `[A-Za-z0-9_=-]`; this keeps it so whatever sets the id). */
export function auditSourceOf(c: Context): AuditSource {
  const { ip, userAgent } = clientOf(c);
  const requestId: string | undefined = c.get("requestId");
  return { ip, userAgent, requestId: requestId === undefined ? null : inertText(requestId, MAX_REQUEST_ID) };
}

/** An opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** What the database keeps instead of the refresh token: its SHA-256, hex. */
export async function hashRefreshToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A refresh token plus the row values that record it. */
export async function newRefresh(config: Config, now: Date) {
  const refreshToken = newRefreshToken();
  return {
    refreshToken,
    refreshTokenHash: await hashRefreshToken(refreshToken),
    expiresAt: new Date(now.getTime() + config.refreshTtlSeconds * 1000),
  };
}

/** The token pair answered by login, register, refresh and password change; `amr` as
 * in `issueAccessToken`. */
export async function tokenPair(
  user: TokenSubject,
  sessionId: string,
  refreshToken: string,
  config: Config,
  amr?: readonly string[],
) {
  return {
    token: await issueAccessToken(user, sessionId, config, amr),
    refresh_token: refreshToken,
    expires_in: config.tokenTtlSeconds,
  };
}
