import { type Actor, auditEvent, auditIfChanged, type NewAuditEvent } from "../../identity/audit";
import type { Ctx } from "../../platform/context";
import { base64url, randomToken, sha256Hex } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import { oauthClients } from "../../platform/schema-oauth";
import { type ClientRow, clientById, deleteClient, revokeClientTokens, updateClient } from "./client-queries";
import { clientText, type GrantType, grantTypesProblem, redirectUrisProblem, scopesProblem } from "./client-rules";
import { clientOf, type OAuthClient } from "./clients";

// What the admin API does to clients (POST/PATCH/DELETE /admin/oauth/clients): plain
// inputs, each change and its audit event in one batch.

/** A new client_id: 16 random bytes, base64url (22 characters). */
export function newClientId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** A new client secret (32 random bytes, base64url) and the SHA-256 hex kept of it. */
export async function newClientSecret(): Promise<{ secret: string; hash: string }> {
  const secret = randomToken();
  return { secret, hash: await sha256Hex(secret) };
}

/** What an admin registers (POST /admin/oauth/clients). */
export type ClientInput = {
  name: string;
  redirect_uris: string[];
  type: "public" | "confidential";
  grant_types?: string[];
  scopes?: string[] | null;
  first_party?: boolean;
};

const DEFAULT_GRANTS: GrantType[] = ["authorization_code", "refresh_token"];

/** The client's fields checked together; 400 `invalid_input` naming the first problem. */
function checked(ctx: Ctx, type: "public" | "confidential", fields: Omit<ClientInput, "type">) {
  const name = clientText(fields.name);
  if (name === "") throw new ApiError("invalid_input", "name must not be empty");
  const grantTypes = [...new Set(fields.grant_types ?? DEFAULT_GRANTS)];
  const redirectUris = [...new Set(fields.redirect_uris)];
  const scopes = fields.scopes == null ? null : [...new Set(fields.scopes)];
  const problem =
    grantTypesProblem(grantTypes, type) ??
    redirectUrisProblem(redirectUris, grantTypes.includes("authorization_code")) ??
    (scopes === null ? undefined : scopesProblem(scopes, ctx.config));
  if (problem) throw new ApiError("invalid_input", problem);
  return { name, grantTypes, redirectUris, scopes };
}

function event(
  type: NewAuditEvent["type"],
  actor: Actor & { type: "admin" },
  ctx: Ctx,
  details: NewAuditEvent["details"],
) {
  return { type, userId: actor.id, actor, source: ctx.source, details } satisfies NewAuditEvent;
}

/** Registers a client for the admin `actor`; audited `oauth_client_created`. Answers the
 * client and, for a confidential one, its secret (shown once; only the hash is kept). */
export async function createClient(ctx: Ctx, input: ClientInput, actor: Actor & { type: "admin" }) {
  const { name, grantTypes, redirectUris, scopes } = checked(ctx, input.type, input);
  const secret = input.type === "confidential" ? await newClientSecret() : undefined;
  const row: ClientRow = {
    clientId: newClientId(),
    clientName: name,
    type: input.type,
    registration: "admin",
    secretHash: secret?.hash ?? null,
    tokenEndpointAuthMethod: secret ? "client_secret_basic" : "none",
    redirectUris: JSON.stringify(redirectUris),
    grantTypes: JSON.stringify(grantTypes),
    scope: scopes === null ? null : scopes.join(" "),
    firstParty: input.first_party ?? false,
    metadata: null,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    lastUsedAt: null,
    expiresAt: null,
  };
  const details = { client_id: row.clientId, client_type: input.type };
  const [[created]] = await ctx.db.batch([
    ctx.db.insert(oauthClients).values(row).returning(),
    auditEvent(ctx.db, event("oauth_client_created", actor, ctx, details), ctx.now),
  ]);
  if (!created) throw new Error("oauth_clients insert returned no row");
  return { client: clientOf(created), secret: secret?.secret };
}

/** The client, or 404 `not_found`. */
export async function clientOr404(ctx: Ctx, clientId: string): Promise<OAuthClient> {
  const [row] = await clientById(ctx.db, clientId);
  if (!row) throw new ApiError("not_found", "No such client");
  return clientOf(row);
}

/** Changes what PATCH /admin/oauth/clients/:id may change; audited `oauth_client_updated`
 * with the names of the fields changed. Metadata-document clients are read from their
 * document (400), and only admin-registered clients may be first-party (400). */
export async function changeClient(
  ctx: Ctx,
  clientId: string,
  change: Partial<Omit<ClientInput, "type">>,
  actor: Actor & { type: "admin" },
): Promise<OAuthClient> {
  const client = await clientOr404(ctx, clientId);
  if (client.registration === "metadata_document") {
    throw new ApiError("invalid_input", "A metadata-document client is read from its document: change the document");
  }
  if (change.first_party === true && client.registration !== "admin") {
    throw new ApiError("invalid_input", "Only clients registered by an admin may be first-party");
  }
  const fields = Object.keys(change).filter((key) => change[key as keyof typeof change] !== undefined);
  if (fields.length === 0) {
    throw new ApiError(
      "invalid_input",
      "Nothing to update: send name, redirect_uris, grant_types, scopes or first_party",
    );
  }
  const next = checked(ctx, client.type, {
    name: change.name ?? client.clientName,
    redirect_uris: change.redirect_uris ?? client.redirectUris,
    grant_types: change.grant_types ?? client.grantTypes,
    scopes: change.scopes === undefined ? client.scope : change.scopes,
  });
  const update = updateClient(ctx.db, clientId, {
    clientName: next.name,
    redirectUris: JSON.stringify(next.redirectUris),
    grantTypes: JSON.stringify(next.grantTypes),
    scope: next.scopes === null ? null : next.scopes.join(" "),
    firstParty: change.first_party ?? client.firstParty,
    updatedAt: ctx.now,
  });
  const details = { client_id: clientId, changed: fields.sort().join(" ") };
  const [[row]] = await ctx.db.batch(
    auditIfChanged(ctx.db, update, event("oauth_client_updated", actor, ctx, details), ctx.now),
  );
  if (!row) throw new ApiError("not_found", "No such client");
  return clientOf(row);
}

/** A new secret for a confidential client (the old one stops working at once); audited
 * `oauth_client_updated` with `changed: "client_secret"`. A public client has none (400). */
export async function rotateSecret(ctx: Ctx, clientId: string, actor: Actor & { type: "admin" }) {
  const client = await clientOr404(ctx, clientId);
  if (client.type !== "confidential") throw new ApiError("invalid_input", "A public client has no secret");
  const secret = await newClientSecret();
  const update = updateClient(ctx.db, clientId, { secretHash: secret.hash, updatedAt: ctx.now });
  const details = { client_id: clientId, changed: "client_secret" };
  const [[row]] = await ctx.db.batch(
    auditIfChanged(ctx.db, update, event("oauth_client_updated", actor, ctx, details), ctx.now),
  );
  if (!row) throw new ApiError("not_found", "No such client");
  return { client_id: clientId, client_secret: secret.secret };
}

/** Deletes a client: every live token of its grants ends, its consents go; audited
 * `oauth_client_deleted` only if the row went. 404 when there is none. */
export async function removeClient(ctx: Ctx, clientId: string, actor: Actor & { type: "admin" }): Promise<void> {
  const [consents, remove] = deleteClient(ctx.db, clientId);
  const details = { client_id: clientId };
  const [, , [gone]] = await ctx.db.batch([
    revokeClientTokens(ctx.db, clientId, ctx.now),
    consents,
    ...auditIfChanged(ctx.db, remove, event("oauth_client_deleted", actor, ctx, details), ctx.now),
  ]);
  if (!gone) throw new ApiError("not_found", "No such client");
}
