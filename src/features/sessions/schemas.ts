import * as z from "zod/mini";
import { password, refreshTransport } from "../../platform/fields";
import { doc, named, timestamp, uuid } from "../../platform/openapi/describe";

/** `refresh_token` may be left out when the request carries the refresh cookie. */
export const refreshBody = named(
  "RefreshBody",
  z.object({
    refresh_token: z.optional(password("refresh_token")),
    refresh_transport: refreshTransport(),
  }),
);

export const sessionJson = named(
  "Session",
  z.object({
    id: uuid("The session id, for DELETE /sessions/{id}"),
    created_at: timestamp(),
    last_used_at: timestamp(),
    user_agent: z.nullable(z.string()),
    ip: doc(z.nullable(z.string()), "From CF-Connecting-IP only; null under wrangler dev"),
    current: doc(z.boolean(), "The session of the token making this request"),
  }),
);
