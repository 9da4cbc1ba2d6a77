import { Secret, TOTP } from "otpauth";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { postJson, registered, send } from "./helpers";

// TOTP set-ups shared by the tests of second factors, of the counted re-checks and of
// recovery. They expect the file to run its tests at a faked time in the middle of a
// 30-second step (`atStepMiddle`), so "the previous step" never straddles a boundary.

/** The faked time every test of an `atStepMiddle` file starts at: 15 s into a step. */
export const START = Date.UTC(2026, 10, 30, 12, 0, 15);

/** Fakes Date at `START` for each test of the calling file (timers stay real). */
export function atStepMiddle(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(START);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** `offsetSeconds` from now (the faked now). */
export const at = (offsetSeconds: number) => new Date(Date.now() + offsetSeconds * 1000);

/** The code an authenticator app shows for `secret` at `when`, computed by otpauth. */
export function codeAt(secret: string, when: Date): string {
  const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });
  return totp.generate({ timestamp: when.getTime() });
}

/** A fresh user with TOTP enrolled but not confirmed; `headers` go with every request. */
export async function enrolling(headers: Record<string, string> = {}) {
  const user = await registered({}, headers);
  const res = await send("POST", "/me/mfa/totp", user.token, { password: user.input.password }, headers);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { secret: string; otpauth_uri: string; qr_svg: string };
  return { ...user, ...body };
}

/** A fresh user with TOTP on. The confirm used the previous step's code, so the
 * current and next steps are free for the test. */
export async function withTotp(headers: Record<string, string> = {}) {
  const user = await enrolling(headers);
  const code = codeAt(user.secret, at(-30));
  const res = await send("POST", "/me/mfa/totp/confirm", user.token, { code }, headers);
  expect(res.status).toBe(200);
  const { recovery_codes } = (await res.json()) as { recovery_codes: string[] };
  return { ...user, recoveryCodes: recovery_codes };
}

/** POST /login with the right password: the mfa_token from the 403. */
export async function mfaToken(
  input: { email: string; password: string },
  overrides: Partial<Cloudflare.Env> = {},
  headers: Record<string, string> = {},
) {
  const res = await postJson("/login", { email: input.email, password: input.password }, headers, overrides);
  expect(res.status).toBe(403);
  return ((await res.json()) as { mfa_token: string }).mfa_token;
}
