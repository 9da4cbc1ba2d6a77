import { and } from "drizzle-orm";
import type { Db } from "../platform/db";
import { type AuditSource, auditIfChanged } from "./audit";
import { deleteAllFactors, hasFactors } from "./queries/factors";
import { revokeAll } from "./queries/sessions";
import { touchUser, unprovenAddress } from "./queries/users";
import { retireFor } from "./retirement";

/**
 * What a link that proves an address for the first time (a password reset, an email
 * verification) does to the account's second factors, as statements to batch before
 * the link's own `markVerified`. Whoever held the account while its address was
 * unproven may have been a squatter who registered someone else's address: factors
 * enrolled then are not trusted once the address's owner proves it (the rule Keycloak
 * adopted). So, only when `email` is still the account's address, never verified, and
 * the account has a factor: every passkey, TOTP factor (or enrolment) and recovery code
 * is deleted, every session revoked, the logins and passkey registrations in flight
 * retired (`second_factors_removed` in `RETIRED_BY`), and `second_factors_removed`
 * audited, by the system, with `{ reason: "unverified_address_recovered" }`. An account
 * whose address was proved before keeps its factors: then the reset is its owner's.
 */
export function distrustFactorsOfUnprovenAddress(
  db: Db,
  userId: string,
  email: string,
  source: AuditSource,
  now: Date,
) {
  const unproven = unprovenAddress(userId, email);
  const squatted = and(unproven, hasFactors(userId));
  const event = {
    type: "second_factors_removed",
    userId,
    actor: { type: "system" },
    source,
    details: { reason: "unverified_address_recovered" },
  } as const;
  // The factors go last: `squatted` asks whether they exist.
  return [
    ...auditIfChanged(db, touchUser(db, userId, now, squatted ?? unproven), event, now),
    revokeAll(db, userId, now, undefined, squatted),
    ...retireFor(db, "second_factors_removed", userId, now, { onlyIf: squatted }),
    ...deleteAllFactors(db, userId, unproven),
  ] as const;
}
