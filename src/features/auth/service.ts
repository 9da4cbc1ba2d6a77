import { auditIfChanged, userEvent } from "../../identity/audit";
import { passwordLogin } from "../../identity/password-login";
import { hashPassword } from "../../identity/passwords";
import { clearFailures } from "../../identity/queries/failures";
import { insertUserQuery } from "../../identity/queries/users";
import { prepareSession, type RefreshTransport } from "../../identity/sessions";
import { verificationLink } from "../../identity/verification";
import type { Ctx } from "../../platform/context";
import { ApiError } from "../../platform/errors";

export type Registration = {
  firstName: string;
  lastName: string;
  email: string;
  password: string;
  refresh_transport: RefreshTransport;
};

/**
 * Creates the account and, unless REQUIRE_EMAIL_VERIFICATION holds it back, its first
 * session, in one round trip: the user row; then, only if it won the UNIQUE index, its
 * `user_registered` event, the session row, the verification link (with mail on) and the
 * email's failed-login record (so a stranger's failures can't lock the new owner). 409
 * `user_exists` when the address is taken. Returns the user, the session to deliver (if
 * any) and the verification mail to send after the answer (if any).
 */
export async function register(ctx: Ctx, input: Registration) {
  const { config, db, now, source } = ctx;
  const { firstName, lastName, email, password, refresh_transport } = input;
  const passwordHash = await hashPassword(password, config.bcryptCost);
  const id = crypto.randomUUID();
  const newUser = { id, email, firstName, lastName, role: "user", disabled: false, emailVerifiedAt: null } as const;
  const mailOn = config.mail.transport !== "none";
  const verification = mailOn ? await verificationLink(ctx, { id, email }, 0) : undefined;
  // Until verified, REQUIRE_EMAIL_VERIFICATION gives no session.
  const session = config.mail.requireVerification
    ? undefined
    : await prepareSession(ctx, {
        user: { ...newUser, createdAt: now, updatedAt: now },
        amr: ["pwd"],
        transport: refresh_transport,
        registering: true,
      });
  const event = userEvent("user_registered", id, source);
  const [inserted] = await db.batch([
    ...auditIfChanged(db, insertUserQuery(db, { id, email, firstName, lastName, passwordHash }, now), event, now),
    ...(session?.statements ?? [clearFailures(db, email, id)]),
    ...(verification ? [verification.insert] : []),
  ]);
  const user = inserted[0];
  if (!user) throw new ApiError("user_exists");
  return {
    user,
    started: session ? await session.finish(user) : undefined,
    verificationMail: verification?.mail(user),
  };
}

export type Login = { email: string; password: string; refresh_transport: RefreshTransport };

/** POST /login: the one password login of the identity core (`passwordLogin`), starting
 * the API's own session. */
export function login(ctx: Ctx, { email, password, refresh_transport }: Login) {
  return passwordLogin(ctx, { email, password, transport: refresh_transport });
}
