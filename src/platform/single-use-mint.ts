import { newRefreshToken as randomToken, hashRefreshToken as sha256Hex } from "../identity/sessions";
import type { Db } from "./db";
import type { SingleUsePurpose } from "./schema";
import { insertSingleUse, insertSingleUseUnlessRecent } from "./single-use";

/** Longest token value worth hashing: ours are 43 characters (256 bits, base64url). */
export const MAX_SINGLE_USE_LENGTH = 128;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A new single-use token: `value` goes to the user (in a link, or as an opaque
 * `mfa_token`/`challenge_id`), `insert` records only its SHA-256 (batch it). */
export async function mintSingleUse(
  db: Db,
  purpose: SingleUsePurpose,
  options: { userId: string | null; ttlSeconds: number; target?: string; data?: unknown },
  now: Date,
) {
  const value = randomToken();
  const insert = insertSingleUse(db, {
    id: crypto.randomUUID(),
    tokenHash: await sha256Hex(value),
    purpose,
    userId: options.userId,
    target: options.target ?? null,
    data: options.data === undefined ? null : JSON.stringify(options.data),
    createdAt: now,
    expiresAt: new Date(now.getTime() + options.ttlSeconds * 1000),
  });
  return { value, insert };
}

/** The hash to look a presented token up by, or undefined for a value that cannot be
 * one of ours (not base64url, or longer than MAX_SINGLE_USE_LENGTH): refused before hashing. */
export async function singleUseHash(value: unknown): Promise<string | undefined> {
  if (typeof value !== "string" || value.length > MAX_SINGLE_USE_LENGTH || !BASE64URL.test(value)) return undefined;
  return sha256Hex(value);
}

/** A single-use token for a mail: like `mintSingleUse`, but `insert` records it only if
 * the user exists and no token of this purpose went to the same user or `target` in the
 * last `cooldownSeconds` (it then returns `[{ id }]`, else `[]`). Batch `retireOthers(db,
 * userId, purpose, id, now)` after it so a new link kills the older ones. */
export async function mintMailToken(
  db: Db,
  purpose: SingleUsePurpose,
  options: { userId: string; ttlSeconds: number; target: string; cooldownSeconds: number; data?: unknown },
  now: Date,
) {
  const value = randomToken();
  const id = crypto.randomUUID();
  const insert = insertSingleUseUnlessRecent(
    db,
    {
      id,
      tokenHash: await sha256Hex(value),
      purpose,
      userId: options.userId,
      target: options.target,
      data: options.data === undefined ? null : JSON.stringify(options.data),
      createdAt: now,
      expiresAt: new Date(now.getTime() + options.ttlSeconds * 1000),
    },
    new Date(now.getTime() - options.cooldownSeconds * 1000),
  );
  return { value, id, insert };
}
