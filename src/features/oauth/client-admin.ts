import { Hono } from "hono";
import { requireRole } from "../../identity/guards";
import { ctxOf } from "../../platform/context";
import type { AppEnv } from "../../platform/env";
import { jsonBody } from "../../platform/http/json-body";
import { describe } from "../../platform/openapi/describe";
import { listClients } from "./client-queries";
import {
  clientIdParam,
  clientJson,
  clientList,
  clientSecretJson,
  createClientBody,
  createdClientJson,
  oauthClientJson,
  updateClientBody,
} from "./client-schemas";
import { changeClient, clientOr404, createClient, removeClient, rotateSecret } from "./client-service";
import { clientOf } from "./clients";

const admin = (id: string) => ({ type: "admin", id }) as const;

/** /admin/oauth/clients: the provider's clients, managed by admins (docs/oauth-clients.md).
 * Served whatever OAUTH_PROVIDER says, so clients can be prepared before it is turned on. */
export const clientAdmin = new Hono<AppEnv>()
  .post(
    "/admin/oauth/clients",
    describe({
      operationId: "createOAuthClient",
      tag: "OAuth",
      summary: "Register an OAuth client",
      description:
        "A confidential client's `client_secret` is in this answer only (only its SHA-256 is kept). Audited as `oauth_client_created`.",
      access: "admin",
      ok: { status: 201, description: "The client", json: createdClientJson },
      errors: ["invalid_input"],
    }),
    requireRole("admin"),
    jsonBody(createClientBody),
    async (c) => {
      const { client, secret } = await createClient(ctxOf(c), c.req.valid("json"), admin(c.var.user.id));
      return c.json({ ...clientJson(client), ...(secret && { client_secret: secret }) }, 201);
    },
  )
  .get(
    "/admin/oauth/clients",
    describe({
      operationId: "listOAuthClients",
      tag: "OAuth",
      summary: "Every OAuth client",
      description:
        "Registered by admins, dynamically (POST /oauth/register) or cached from client ID metadata documents; never a secret.",
      access: "admin",
      ok: { status: 200, description: "The clients, in client_id order", json: clientList },
    }),
    requireRole("admin"),
    async (c) => c.json({ clients: (await listClients(c.var.db)).map((row) => clientJson(clientOf(row))) }),
  )
  .get(
    "/admin/oauth/clients/:id",
    describe({
      operationId: "getOAuthClient",
      tag: "OAuth",
      summary: "One OAuth client",
      access: "admin",
      params: clientIdParam,
      ok: { status: 200, description: "The client (never its secret)", json: oauthClientJson },
      errors: ["not_found"],
    }),
    requireRole("admin"),
    async (c) => c.json(clientJson(await clientOr404(ctxOf(c), c.req.param("id")))),
  )
  .patch(
    "/admin/oauth/clients/:id",
    describe({
      operationId: "updateOAuthClient",
      tag: "OAuth",
      summary: "Change an OAuth client",
      description:
        "Any of name, redirect_uris, grant_types, scopes, first_party; checked as at registration. Tokens already issued keep working. A metadata-document client is read from its document and only admin-registered clients may be first-party (400 invalid_input). Audited as `oauth_client_updated`.",
      access: "admin",
      params: clientIdParam,
      ok: { status: 200, description: "The updated client", json: oauthClientJson },
      errors: ["invalid_input", "not_found"],
    }),
    requireRole("admin"),
    jsonBody(updateClientBody),
    async (c) => {
      const client = await changeClient(ctxOf(c), c.req.param("id"), c.req.valid("json"), admin(c.var.user.id));
      return c.json(clientJson(client));
    },
  )
  .post(
    "/admin/oauth/clients/:id/secret",
    describe({
      operationId: "rotateOAuthClientSecret",
      tag: "OAuth",
      summary: "Give a confidential client a new secret",
      description:
        "The old secret stops working at once; the new one is in this answer only. A public client has none (400 invalid_input). Audited as `oauth_client_updated`.",
      access: "admin",
      params: clientIdParam,
      ok: { status: 200, description: "The new secret", json: clientSecretJson },
      errors: ["invalid_input", "not_found"],
    }),
    requireRole("admin"),
    async (c) => c.json(await rotateSecret(ctxOf(c), c.req.param("id"), admin(c.var.user.id))),
  )
  .delete(
    "/admin/oauth/clients/:id",
    describe({
      operationId: "deleteOAuthClient",
      tag: "OAuth",
      summary: "Delete an OAuth client",
      description:
        "Every live token of its grants ends and every consent to it goes, in the same batch. Audited as `oauth_client_deleted`.",
      access: "admin",
      params: clientIdParam,
      ok: { status: 204, description: "Deleted" },
      errors: ["not_found"],
    }),
    requireRole("admin"),
    async (c) => {
      await removeClient(ctxOf(c), c.req.param("id"), admin(c.var.user.id));
      return c.body(null, 204);
    },
  );
