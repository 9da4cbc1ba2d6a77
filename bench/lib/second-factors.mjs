// Load for the second-factor logins: POST /login/mfa with a TOTP code and POST
// /login/passkey. Every request spends something single-use (an mfa_token and a TOTP
// time step; a challenge and a counter value), so `refill` prepares exactly one run's
// worth before each run, outside the measured time: the bcrypt of the password step and
// the options call are not part of what these rows measure.
import { Secret, TOTP } from "otpauth";
import { SoftwareAuthenticator } from "../../test/support/authenticator.mjs";
import { fromNextClient } from "./load.mjs";

const PERIOD_MS = 30_000;
const step = () => Math.floor(Date.now() / PERIOD_MS);

/** wrangler dev's proxy answers this, not JSON, when its forward to the worker fails
 * (README, Benchmarks: "Errors at 64 connections"); the request never reached the API. */
const PROXY_FAILURE = "Your worker restarted mid-request";

/**
 * A setup request (not measured): `method` to `url + path` with `body` as JSON (a string is
 * sent as it is) and a Bearer `token`, from the next client address. `{ status, body }` with
 * the body parsed. A request wrangler dev's proxy fails is sent again, up to three times.
 */
export async function setupRequest(url, method, path, body, token) {
  for (let attempt = 1; ; attempt++) {
    // Each setup request from its own address, as the measured ones: the per-IP limits
    // (100 registrations a minute) would otherwise stop a full run's setup.
    const { headers } = fromNextClient({
      headers: {
        ...(method !== "GET" && { "content-type": "application/json" }),
        ...(token && { authorization: `Bearer ${token}` }),
      },
    });
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      body: body === undefined || typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    // Setup only, so sending it again is harmless (a login makes another mfa_token).
    if (res.status === 503 && text.includes(PROXY_FAILURE) && attempt < 3) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
}

const post = (url, path, body, token) => setupRequest(url, "POST", path, body, token);

async function newUser(url, label, i, password) {
  const email = `bench-${label}-${Date.now().toString(36)}-${i}@example.com`;
  const res = await post(url, "/register", { firstName: "Bench", lastName: "Factor", email, password });
  if (res.status !== 201) throw new Error(`bench: register answered ${res.status} ${JSON.stringify(res.body)}`);
  return { email, token: res.body.token };
}

/** `count` tasks, `width` at a time. */
async function inBatches(count, width, task) {
  const out = [];
  for (let i = 0; i < count; i += width) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => task(i + j)))));
  }
  return out;
}

/**
 * POST /login/mfa with `{mfa_token, code}`, for `users` accounts with TOTP on (at least
 * `amount`: one code per account per run, so no two requests in flight race one account's
 * last-used step). Each code is for a time step its user has not used yet (the API refuses
 * replays), at most one step ahead of now, chosen after the run's password logins, which
 * take seconds: a code is good only for its step and the ones either side.
 */
export async function mfaLoginRequest(url, { users, amount, password }) {
  if (users < amount) throw new Error("bench: one TOTP account per request of a run is needed");
  const accounts = await inBatches(users, 8, async (i) => {
    const user = await newUser(url, "totp", i, password);
    const enrolled = await post(url, "/me/mfa/totp", { password }, user.token);
    if (enrolled.status !== 200) throw new Error(`bench: TOTP enrolment answered ${enrolled.status}`);
    const totp = new TOTP({
      secret: Secret.fromBase32(enrolled.body.secret),
      algorithm: "SHA1",
      digits: 6,
      period: 30,
    });
    const now = step();
    const confirmed = await post(url, "/me/mfa/totp/confirm", { code: totp.generate() }, user.token);
    if (confirmed.status !== 200) throw new Error(`bench: TOTP confirm answered ${confirmed.status}`);
    return { ...user, totp, lastStep: now };
  });
  /** A step `account` has not used, now or one ahead (waiting for the next step if none). */
  const reserve = async (account) => {
    for (;;) {
      const now = step();
      if (account.lastStep < now + 1) {
        account.lastStep = Math.max(now, account.lastStep + 1);
        return account.lastStep;
      }
      await new Promise((resolve) => setTimeout(resolve, PERIOD_MS - (Date.now() % PERIOD_MS) + 50));
    }
  };
  let pool = [];
  return {
    method: "POST",
    path: "/login/mfa",
    headers: { "content-type": "application/json" },
    setupRequest: (req) => {
      const next = pool.shift();
      const body = next ?? { mfa_token: "pool-exhausted", code: "000000" };
      return { ...req, body: JSON.stringify(body) };
    },
    refill: async () => {
      const logins = await inBatches(amount, 8, async (i) => {
        const account = accounts[i];
        const login = await post(url, "/login", { email: account.email, password });
        if (login.status !== 403) throw new Error(`bench: login of a TOTP user answered ${login.status}`);
        return { token: login.body.mfa_token, account };
      });
      pool = [];
      for (const { token, account } of logins) {
        const at = await reserve(account);
        pool.push({ mfa_token: token, code: account.totp.generate({ timestamp: at * PERIOD_MS }) });
      }
    },
  };
}

/**
 * POST /login/passkey with `{challenge_id, response}`, for `users` accounts with one
 * passkey each on a software authenticator (test/support/authenticator.mjs). Each run
 * uses every authenticator at most once, so no two requests in flight race one counter.
 */
export async function passkeyLoginRequest(url, { users, amount, password }) {
  if (users < amount) throw new Error("bench: one passkey per request of a run is needed");
  const keys = await inBatches(users, 8, async (i) => {
    const user = await newUser(url, "passkey", i, password);
    const authenticator = await SoftwareAuthenticator.create();
    const options = await post(url, "/me/passkeys/options", undefined, user.token);
    const response = await authenticator.register(options.body);
    const added = await post(url, "/me/passkeys", { response, name: "bench" }, user.token);
    if (added.status !== 201) throw new Error(`bench: passkey registration answered ${added.status}`);
    return authenticator;
  });
  let pool = [];
  return {
    method: "POST",
    path: "/login/passkey",
    headers: { "content-type": "application/json" },
    setupRequest: (req) => ({
      ...req,
      body: JSON.stringify(pool.shift() ?? { challenge_id: "pool-exhausted", response: {} }),
    }),
    refill: async () => {
      pool = await inBatches(amount, 8, async (i) => {
        const start = await post(url, "/login/passkey/options", {});
        const response = await keys[i % keys.length].assert(start.body.options);
        return { challenge_id: start.body.challenge_id, response };
      });
    },
  };
}
