import * as z from "zod/mini";
import { activity, nextCursor } from "../../identity/schemas";
import { doc, named } from "../../platform/openapi/describe";

/** One security event as an admin sees it (GET /admin/audit). */
const auditEventJson = z.object({
  ...activity.shape,
  user_id: doc(z.nullable(z.string()), "The account the event is about (it may since have been deleted)"),
  actor_id: doc(z.nullable(z.string()), "The acting user's or admin's id; null for the system"),
  request_id: z.nullable(z.string()),
  details: doc(
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    "A few facts (reason, seconds, role, session_id, credential...); never a password, hash, token, code, secret or link",
  ),
});

export const auditPage = named("AuditPage", z.object({ events: z.array(auditEventJson), next_cursor: nextCursor() }));
