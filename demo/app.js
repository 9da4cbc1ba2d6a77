// The demo: calls from this page's origin to the API's origin through the project's
// client (/client.js, client/index.ts bundled), which attaches the access token and
// refreshes it on 401. Over HTTPS the refresh token travels in an HttpOnly cookie this
// page can never read (refresh_transport "cookie"), so a reload stays signed in; over
// plain http browsers drop Secure cookies, so the page keeps it in memory ("body").
// Every API value reaches the page through textContent, never as HTML.
import { createAuthClient, memoryStore } from "./client.js";

const DEFAULT_API = "http://localhost:8787";
const TIMEOUT_MS = 15_000;
// Routes that arrive with sessions; an API without them answers 404.
const SESSION_ROUTES = ["/me", "/token/refresh", "/logout"];

/**
 * @typedef {{ token: string | null, refreshToken: string | null, expiresIn: number | null, user: string | null, verified: boolean | null }} Session
 * @typedef {"ok" | "error" | "not-deployed" | "cors" | "network" | "pending"} Outcome
 */

/** @type {Session} */
const session = { token: null, refreshToken: null, expiresIn: null, user: null, verified: null };
let seq = 0;

/** @type {import("./client.js").Transport} */
const transport =
  new URLSearchParams(location.search).get("transport") === "body" || location.protocol !== "https:"
    ? "body"
    : "cookie";
const store = memoryStore();
/** @type {{ base: string, client: ReturnType<typeof createAuthClient> } | null} */
let current = null;

/** The client for the API base URL in the input, made anew when the URL changes. */
function clientFor(/** @type {string} */ base) {
  if (current?.base !== base) {
    current?.client.close();
    current = { base, client: createAuthClient({ baseUrl: base, transport, store, onSignedOut: forget }) };
  }
  return current.client;
}

/** @param {string} id */
function el(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found;
}

const apiInput = /** @type {HTMLInputElement} */ (el("api-base"));
apiInput.value = new URLSearchParams(location.search).get("api") ?? DEFAULT_API;
el("page-origin").textContent = location.origin;
el("transport").textContent =
  transport === "cookie"
    ? "cookie: the refresh token is in an HttpOnly cookie this page cannot read"
    : "body: the refresh token is kept in this page's memory";

function apiBase() {
  return apiInput.value.trim().replace(/\/+$/, "");
}

/**
 * Calls the API and reports the outcome on the page.
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, auth?: boolean }} [options]
 * @returns {Promise<{ status: number, data: unknown } | null>} null when no response could be read
 */
async function call(method, path, options = {}) {
  const label = `${method} ${path}`;
  const base = apiBase();
  const id = ++seq;
  show(id, "pending", `${label} …`, `Sending to ${base}`, "");

  /** @type {Record<string, string>} */
  const headers = {};
  if (options.body !== undefined) headers["Content-Type"] = "application/json";

  /** @type {Response} */
  let res;
  try {
    // The client adds the access token (refreshing it first when needed) and, in
    // cookie mode, credentials: "include".
    res = await clientFor(base).fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    await showFailure(id, label, base, err);
    return null;
  }
  if (session.token && clientFor(base).accessToken && session.token !== clientFor(base).accessToken) {
    // The client refreshed on its own (a 401, or another tab): show the new token.
    session.token = clientFor(base).accessToken ?? null;
    renderSession();
  }

  const text = await res.text();
  /** @type {unknown} */
  let data = text;
  if (res.headers.get("content-type")?.includes("application/json")) {
    try {
      data = JSON.parse(text);
    } catch {
      // Shown as text below.
    }
  }
  const requestId = res.headers.get("x-request-id");
  const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  const body = typeof data === "string" ? data : JSON.stringify(data, null, 2);
  const error = errorOf(data);

  if (res.ok) {
    show(id, "ok", `${label} → ${status}`, requestId ? `request id ${requestId}` : "", body);
  } else if (res.status === 404 && SESSION_ROUTES.includes(path)) {
    show(
      id,
      "not-deployed",
      `${label} → 404: not deployed`,
      `The API at ${base} does not serve ${path} yet (sessions, refresh tokens, /me and /logout come with a newer version).`,
      body,
    );
  } else {
    const detail = error ? `${error.code}: ${error.message}` : "the response has no JSON error envelope";
    show(id, "error", `${label} → ${status}`, detail, body);
  }
  return { status: res.status, data };
}

/**
 * fetch rejected: the browser read no response. A no-cors probe tells a CORS block
 * (the server answers, but not to this origin) from an unreachable server.
 * @param {number} id
 * @param {string} label
 * @param {string} base
 * @param {unknown} err
 */
async function showFailure(id, label, base, err) {
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (err instanceof DOMException && err.name === "TimeoutError") {
    show(
      id,
      "network",
      `${label} → no answer`,
      `The API at ${base} did not answer within ${TIMEOUT_MS / 1000} s.`,
      reason,
    );
    return;
  }
  let reachable = false;
  try {
    await fetch(`${base}/health`, { mode: "no-cors", credentials: "omit", signal: AbortSignal.timeout(5_000) });
    reachable = true;
  } catch {
    // Unreachable (or not a valid URL): reported below.
  }
  if (reachable) {
    show(
      id,
      "cors",
      `${label} → blocked by CORS`,
      `The API at ${base} is up, but it did not allow this origin (${location.origin}), so the browser hid the response. Add ${location.origin} to the API's CORS_ORIGINS.`,
      reason,
    );
  } else {
    show(
      id,
      "network",
      `${label} → network error`,
      `Could not reach the API at ${base}. Is it running, and is the URL right?`,
      reason,
    );
  }
}

/**
 * The API's error envelope {"error":{"code","message"}}, if `data` is one.
 * @param {unknown} data
 * @returns {{ code: string, message: string } | null}
 */
function errorOf(data) {
  if (typeof data !== "object" || data === null || !("error" in data)) return null;
  const error = /** @type {{ error: unknown }} */ (data).error;
  if (typeof error !== "object" || error === null) return null;
  const { code, message } = /** @type {{ code?: unknown, message?: unknown }} */ (error);
  return { code: String(code), message: String(message) };
}

/**
 * @param {number} id
 * @param {Outcome} outcome
 * @param {string} title
 * @param {string} detail
 * @param {string} body
 */
function show(id, outcome, title, detail, body) {
  if (id !== seq) return; // a newer call owns the panel
  const result = el("result");
  result.dataset.outcome = outcome;
  el("result-title").textContent = title;
  el("result-detail").textContent = detail;
  el("result-body").textContent = body;
  if (outcome === "pending") return;
  result.dataset.seq = String(id);
  const item = document.createElement("li");
  item.dataset.outcome = outcome;
  item.textContent = `${new Date().toLocaleTimeString()}  ${title}`;
  el("history").prepend(item);
}

/**
 * Keeps the tokens from a register, login or refresh answer.
 * @param {unknown} data
 */
function remember(data) {
  if (typeof data !== "object" || data === null) return;
  const d = /** @type {Record<string, unknown>} */ (data);
  if (typeof d.token === "string") session.token = d.token;
  if (typeof d.refresh_token === "string") session.refreshToken = d.refresh_token;
  if (typeof d.expires_in === "number") session.expiresIn = d.expires_in;
  if (typeof d.email === "string") session.user = d.email;
  // From /me and POST /email/verify/resend, or else the access token's claim.
  if (typeof d.email_verified === "boolean") session.verified = d.email_verified;
  else if (typeof d.token === "string") session.verified = claimOf(d.token, "email_verified");
  renderSession();
  if (typeof d.token === "string") {
    mfaToken = null;
    el("mfa-pending").textContent = "No login is waiting for a second factor.";
    void renderFactors();
  }
}

/**
 * One claim of a JWT, read without verifying it (display only), or null.
 * @param {string} token
 * @param {string} name
 * @returns {boolean | null}
 */
function claimOf(token, name) {
  try {
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload[name] === "boolean" ? payload[name] : null;
  } catch {
    return null;
  }
}

function forget() {
  Object.assign(session, { token: null, refreshToken: null, expiresIn: null, user: null, verified: null });
  renderSession();
  void renderFactors();
}

/** @param {string | null} token */
function preview(token) {
  return token ? `${token.slice(0, 12)}…${token.slice(-6)} (${token.length} chars)` : "none";
}

function renderSession() {
  el("session-user").textContent = session.user ?? (session.token ? "signed in" : "signed out");
  el("session-verified").textContent = session.verified === null ? "unknown" : session.verified ? "yes" : "no";
  const expiry = session.expiresIn === null ? "" : `, expires in ${session.expiresIn} s`;
  el("session-token").textContent = session.token ? `${preview(session.token)}${expiry}` : "none";
  el("session-refresh").textContent =
    transport === "cookie" && session.token
      ? "in an HttpOnly cookie (hidden from this page)"
      : session.token && !session.refreshToken
        ? "not issued by this API"
        : preview(session.refreshToken);
}

/**
 * @param {string} id
 * @param {(fields: Record<string, string>) => Promise<void>} handler
 */
function onSubmit(id, handler) {
  const form = /** @type {HTMLFormElement} */ (el(id));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    /** @type {Record<string, string>} */
    const fields = {};
    for (const [name, value] of new FormData(form)) fields[name] = String(value);
    void handler(fields);
  });
}

/**
 * @param {string} id
 * @param {() => Promise<void>} handler
 */
function onClick(id, handler) {
  el(id).addEventListener("click", () => void handler());
}

onSubmit("register-form", async (fields) => {
  const res = await call("POST", "/register", { body: { ...fields, refresh_transport: transport } });
  if (res?.status === 201) {
    remember(res.data);
    const loginEmail = /** @type {HTMLInputElement} */ (el("login-form").querySelector("[name=email]"));
    loginEmail.value = fields.email ?? "";
  }
});

onSubmit("login-form", async (fields) => {
  const res = await call("POST", "/login", { body: { ...fields, refresh_transport: transport } });
  if (res?.status === 200) remember(res.data);
  if (res?.status === 403) awaitSecondFactor(res.data);
});

onClick("welcome", async () => {
  await call("GET", "/welcome", { auth: true });
});

onClick("me", async () => {
  const res = await call("GET", "/me", { auth: true });
  if (res?.status === 200) remember(res.data);
});

onClick("forgot", async () => {
  const email = /** @type {HTMLInputElement} */ (el("login-form").querySelector("[name=email]")).value;
  await call("POST", "/password/forgot", { body: { email } });
});

onClick("resend", async () => {
  const res = await call("POST", "/email/verify/resend", { auth: true });
  if (res?.status === 200) remember(res.data);
});

onClick("refresh", async () => {
  const body = transport === "cookie" ? { refresh_transport: "cookie" } : { refresh_token: session.refreshToken ?? "" };
  const res = await call("POST", "/token/refresh", { body });
  if (res?.status === 200) remember(res.data);
});

onClick("logout", async () => {
  const res = await call("POST", "/logout", { auth: true });
  if (res && res.status < 300) forget();
  if (res?.status === 404) {
    // Without /logout the token stays valid until it expires; the page forgets it anyway.
    forget();
    el("result-detail").append(" Signed out in this page only: the token stays valid until it expires.");
  }
});

// Email sign-in (EMAIL_LOGIN): a mailed code typed here, or a mailed link whose page sends
// the browser back here with `code=` for POST /login/exchange.

/** This page's address without a returned `code`: where a mailed link comes back to. */
function returnUrl() {
  const url = new URL(location.href);
  url.searchParams.delete("code");
  return url.href;
}

onSubmit("email-login-form", async (fields) => {
  await call("POST", "/login/email", { body: { email: fields.email ?? "", redirect_to: returnUrl() } });
});

onClick("email-code-submit", async () => {
  const email = /** @type {HTMLInputElement} */ (el("email-login-form").querySelector("[name=email]")).value;
  const body = { email, code: input("email-code").value, refresh_transport: transport };
  const res = await call("POST", "/login/email/verify", { body });
  if (res?.status === 200) remember(res.data);
  if (res?.status === 403) awaitSecondFactor(res.data);
});

// Second factors and passkeys. WebAuthn options and responses travel as JSON through
// the browser's own PublicKeyCredential.parse*OptionsFromJSON and toJSON().

/** The mfa_token of a login waiting for its second factor. @type {string | null} */
let mfaToken = null;

/** @param {string} id */
function input(id) {
  return /** @type {HTMLInputElement} */ (el(id));
}

/** @param {unknown} data */
function awaitSecondFactor(data) {
  const d = /** @type {Record<string, unknown>} */ (data ?? {});
  if (typeof d.mfa_token !== "string") return;
  mfaToken = d.mfa_token;
  const methods = Array.isArray(d.mfa_methods) ? d.mfa_methods.join(", ") : "";
  el("mfa-pending").textContent = `Password accepted; finish with one of: ${methods} (5 minutes).`;
}

/** Reads the account's factors and passkeys without touching the result panel. */
async function renderFactors() {
  const list = el("passkey-list");
  list.replaceChildren();
  if (!session.token) {
    el("factors").textContent = "Sign in to see your second factors.";
    return;
  }
  const headers = { Authorization: `Bearer ${session.token}` };
  try {
    const [me, keys] = await Promise.all([
      fetch(`${apiBase()}/me`, { headers, credentials: "omit" }).then((r) => r.json()),
      fetch(`${apiBase()}/me/passkeys`, { headers, credentials: "omit" }).then((r) => r.json()),
    ]);
    const mfa = me?.mfa;
    el("factors").textContent = mfa
      ? `TOTP: ${mfa.totp ? "on" : "off"} · passkeys: ${mfa.passkeys} · recovery codes left: ${mfa.recovery_codes}`
      : "This API does not report second factors.";
    for (const key of Array.isArray(keys?.passkeys) ? keys.passkeys : []) list.append(passkeyItem(key));
  } catch {
    el("factors").textContent = "Could not read the factors.";
  }
}

/** @param {{ id: string, name: string, created_at: string, last_used_at: string | null }} key */
function passkeyItem(key) {
  const item = document.createElement("li");
  item.dataset.id = key.id;
  const label = document.createElement("span");
  label.className = "passkey-name";
  label.textContent = `${key.name} (added ${key.created_at.slice(0, 10)}, last used ${key.last_used_at?.slice(0, 10) ?? "never"})`;
  const rename = document.createElement("button");
  rename.type = "button";
  rename.textContent = "Rename";
  rename.addEventListener("click", async () => {
    await call("PATCH", `/me/passkeys/${key.id}`, { auth: true, body: { name: input("passkey-name").value } });
    await renderFactors();
  });
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "Delete";
  remove.addEventListener("click", async () => {
    await call("DELETE", `/me/passkeys/${key.id}`, { auth: true, body: { password: input("factor-password").value } });
    await renderFactors();
  });
  item.append(label, rename, remove);
  return item;
}

/**
 * Runs `navigator.credentials.get` for request options JSON; the response as JSON, or null.
 * @param {unknown} options
 */
async function getAssertion(options) {
  try {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(
      /** @type {PublicKeyCredentialRequestOptionsJSON} */ (options),
    );
    const credential = /** @type {PublicKeyCredential | null} */ (await navigator.credentials.get({ publicKey }));
    return credential?.toJSON() ?? null;
  } catch (err) {
    show(++seq, "error", "navigator.credentials.get → failed", String(err), "");
    return null;
  }
}

/**
 * The email in an access token, for display only (the API checks the token, not us).
 * @param {string} token
 */
function emailOf(token) {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof claims.email === "string" ? claims.email : null;
  } catch {
    return null;
  }
}

onClick("mfa-code", async () => {
  const res = await call("POST", "/login/mfa", {
    body: { mfa_token: mfaToken ?? "", code: input("factor-code").value, refresh_transport: transport },
  });
  if (res?.status === 200) remember(res.data);
});

onClick("mfa-recovery", async () => {
  const body = { mfa_token: mfaToken ?? "", recovery_code: input("factor-code").value, refresh_transport: transport };
  const res = await call("POST", "/login/mfa", { body });
  if (res?.status === 200) remember(res.data);
});

onClick("mfa-passkey", async () => {
  const options = await call("POST", "/login/mfa/webauthn/options", { body: { mfa_token: mfaToken ?? "" } });
  if (options?.status !== 200) return;
  const webauthn = await getAssertion(/** @type {{ options: unknown }} */ (options.data).options);
  if (!webauthn) return;
  const res = await call("POST", "/login/mfa", {
    body: { mfa_token: mfaToken ?? "", webauthn, refresh_transport: transport },
  });
  if (res?.status === 200) remember(res.data);
});

onClick("passkey-login", async () => {
  const start = await call("POST", "/login/passkey/options");
  if (start?.status !== 200) return;
  const { options, challenge_id } = /** @type {{ options: unknown, challenge_id: string }} */ (start.data);
  const response = await getAssertion(options);
  if (!response) return;
  const res = await call("POST", "/login/passkey", { body: { challenge_id, response, refresh_transport: transport } });
  if (res?.status === 200) remember(res.data);
});

onClick("passkey-add", async () => {
  const start = await call("POST", "/me/passkeys/options", { auth: true });
  if (start?.status !== 200) return;
  let response;
  try {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
      /** @type {PublicKeyCredentialCreationOptionsJSON} */ (start.data),
    );
    const credential = /** @type {PublicKeyCredential | null} */ (await navigator.credentials.create({ publicKey }));
    response = credential?.toJSON();
  } catch (err) {
    show(++seq, "error", "navigator.credentials.create → failed", String(err), "");
    return;
  }
  await call("POST", "/me/passkeys", { auth: true, body: { response, name: input("passkey-name").value } });
  await renderFactors();
});

onClick("totp-enrol", async () => {
  const res = await call("POST", "/me/mfa/totp", { auth: true, body: { password: input("factor-password").value } });
  if (res?.status !== 200) return;
  const { secret, qr_svg } = /** @type {{ secret: string, qr_svg: string }} */ (res.data);
  el("totp-secret").textContent = secret;
  // As an image, so the SVG is drawn but never parsed into this page.
  /** @type {HTMLImageElement} */ (el("totp-qr")).src = `data:image/svg+xml,${encodeURIComponent(qr_svg)}`;
  el("totp-enrolment").hidden = false;
});

onClick("totp-confirm", async () => {
  await call("POST", "/me/mfa/totp/confirm", { auth: true, body: { code: input("factor-code").value } });
  el("totp-enrolment").hidden = true;
  await renderFactors();
});

onClick("recovery-codes", async () => {
  await call("POST", "/me/mfa/recovery-codes", { auth: true, body: { code: input("factor-code").value } });
  await renderFactors();
});

onClick("totp-disable", async () => {
  const body = { password: input("factor-password").value, code: input("factor-code").value };
  await call("DELETE", "/me/mfa/totp", { auth: true, body });
  await renderFactors();
});

/** Cookie mode: a reload keeps the session, restored from the cookie by one refresh. */
async function restore() {
  if (transport !== "cookie") return;
  const client = clientFor(apiBase());
  try {
    if (!(await client.refresh()) || !client.accessToken) return;
  } catch {
    return; // API unreachable: the page starts signed out
  }
  Object.assign(session, { token: client.accessToken, user: emailOf(client.accessToken) });
  renderSession();
}

/** Social sign-in's buttons, one per provider of GET /login/social. A click leaves for
 * the API (a navigation, so the API can set its cookie), which sends the browser to the
 * provider and back here with `?code=` or `?error=`. */
async function renderProviders() {
  const list = el("social-providers");
  /** @type {{ id: string, name: string }[]} */
  let providers = [];
  try {
    const res = await fetch(`${apiBase()}/login/social`);
    if (res.ok) providers = /** @type {{ providers: { id: string, name: string }[] }} */ (await res.json()).providers;
  } catch {
    // API unreachable: no buttons
  }
  list.textContent = providers.length === 0 ? "No providers: SOCIAL_PROVIDERS is empty." : "";
  for (const { id, name } of providers) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.provider = id;
    button.textContent = `Sign in with ${name}`;
    button.addEventListener("click", () => {
      const back = new URL(location.pathname, location.origin);
      back.searchParams.set("api", apiBase());
      location.assign(
        `${apiBase()}/login/social/${encodeURIComponent(id)}?redirect_to=${encodeURIComponent(back.href)}`,
      );
    });
    list.append(button);
  }
}

/** Back from a sign-in that ended in a redirect (a social provider, a mailed link): trades
 * `?code=` at POST /login/exchange (tokens never travel in the URL), or shows `?error=`.
 * True when the page was such a return. */
async function finishRedirect() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  if (!code && !error) return false;
  for (const name of ["code", "error", "linked"]) params.delete(name);
  // Out of the address bar (and history) at once: the code works once anyway.
  history.replaceState(null, "", `${location.pathname}${params.size > 0 ? `?${params}` : ""}`);
  if (error) {
    show(++seq, "error", `Sign-in → error=${error}`, "The provider or the API refused the sign-in", "");
    return true;
  }
  const res = await call("POST", "/login/exchange", { body: { code, refresh_transport: transport } });
  if (res?.status === 200) remember(res.data);
  if (res?.status === 403) awaitSecondFactor(res.data);
  return true;
}

renderSession();
document.body.dataset.ready = "false";
void (async () => {
  if (!(await finishRedirect())) await restore();
  await renderProviders();
})().finally(() => {
  document.body.dataset.ready = "true";
});
