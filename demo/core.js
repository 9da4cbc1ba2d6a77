// What every screen of the demo shares: the API client, the session as the page knows it,
// `call` (one request, its outcome in the status line and the request log) and `read`
// (a quiet request that fills a screen). Every API value reaches the page through
// textContent, never as HTML.
import { createAuthClient, memoryStore } from "./client.js";

const DEFAULT_API = "http://localhost:8787";
const TIMEOUT_MS = 15_000;
// Routes that arrive with sessions; an API without them answers 404.
const SESSION_ROUTES = ["/me", "/token/refresh", "/logout"];
// Request fields the log shows as dots: what a shoulder must not read.
const SECRET_FIELDS = new Set([
  "password",
  "currentPassword",
  "newPassword",
  "code",
  "recovery_code",
  "refresh_token",
  "mfa_token",
]);

/**
 * @typedef {{ token: string | null, refreshToken: string | null, expiresIn: number | null, user: string | null, verified: boolean | null }} Session
 * @typedef {"ok" | "step" | "error" | "not-deployed" | "cors" | "network" | "pending"} Outcome
 * @typedef {{ body?: unknown, what?: string, done?: string }} CallOptions
 */

/** The session as this page knows it. @type {Session} */
export const session = { token: null, refreshToken: null, expiresIn: null, user: null, verified: null };
let seq = 0;

/** @type {import("./client.js").Transport} */
export const transport =
  new URLSearchParams(location.search).get("transport") === "body" || location.protocol !== "https:"
    ? "body"
    : "cookie";
const store = memoryStore();
/** @type {{ base: string, client: ReturnType<typeof createAuthClient> } | null} */
let current = null;
/** Called when the client says the session ended (refresh refused, logout in another tab). */
let onSignedOut = () => {};

/** @param {() => void} handler */
export function whenSignedOut(handler) {
  onSignedOut = handler;
}

/** The client for the API base URL in the input, made anew when the URL changes. */
export function clientFor(/** @type {string} */ base) {
  if (current?.base !== base) {
    current?.client.close();
    current = { base, client: createAuthClient({ baseUrl: base, transport, store, onSignedOut: () => onSignedOut() }) };
  }
  return current.client;
}

/** @param {string} id */
export function el(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found;
}

/** @param {string} id */
export function input(id) {
  return /** @type {HTMLInputElement} */ (el(id));
}

const apiInput = input("api-base");
apiInput.value = new URLSearchParams(location.search).get("api") ?? DEFAULT_API;

export function apiBase() {
  return apiInput.value.trim().replace(/\/+$/, "");
}

/**
 * The request's headers: JSON, and the page's access token when the client has none (a
 * sign-in the client did not see, such as an emailed code or a redirect's exchange).
 * @param {boolean} json
 */
function headersFor(json) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (json) headers["Content-Type"] = "application/json";
  if (session.token && !clientFor(apiBase()).accessToken) headers.Authorization = `Bearer ${session.token}`;
  return headers;
}

/** The client refreshed on its own (a 401, or another tab): the page follows. */
function followClient() {
  const token = clientFor(apiBase()).accessToken;
  if (session.token && token && session.token !== token) {
    session.token = token;
    renderSession();
  }
}

/**
 * Calls the API and reports the outcome in the status line and the log.
 * `what` names the action for people ("Sign in"), `done` is what success says.
 * @param {string} method
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<{ status: number, data: unknown } | null>} null when no response could be read
 */
export async function call(method, path, options = {}) {
  const label = `${method} ${path}`;
  const what = options.what ?? label;
  const base = apiBase();
  const id = ++seq;
  show(id, "pending", `${label} …`, `Sending to ${base}`, "", `${what}…`);

  /** @type {Response} */
  let res;
  try {
    // The client adds the access token (refreshing it first when needed) and, in
    // cookie mode, credentials: "include".
    res = await clientFor(base).fetch(path, {
      method,
      headers: headersFor(options.body !== undefined),
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    await showFailure(id, label, what, base, err, options.body);
    return null;
  }
  followClient();

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
  const sent = options.body;

  if (res.ok) {
    show(
      id,
      "ok",
      `${label} → ${status}`,
      requestId ? `request id ${requestId}` : "",
      body,
      options.done ?? `${what}: done`,
      sent,
    );
  } else if (res.status === 403 && error?.code === "mfa_required") {
    // Not a failure: the first factor was right and the sign-in goes on to its second step.
    show(
      id,
      "step",
      `${label} → ${status}`,
      "mfa_required: the second step follows",
      body,
      "Password accepted: one more step",
      sent,
    );
  } else if (res.status === 404 && SESSION_ROUTES.includes(path)) {
    show(
      id,
      "not-deployed",
      `${label} → 404: not deployed`,
      `The API at ${base} does not serve ${path} yet (sessions, refresh tokens, /me and /logout come with a newer version).`,
      body,
      `${what}: not available on this API`,
      sent,
    );
  } else {
    const detail = error ? `${error.code}: ${error.message}` : "the response has no JSON error envelope";
    show(id, "error", `${label} → ${status}`, detail, body, `${what} failed: ${error?.message ?? status}`, sent);
  }
  return { status: res.status, data };
}

/**
 * A quiet GET for a screen's contents: not in the status line nor the log (as the
 * factor summary always was), null on any failure.
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function read(path) {
  try {
    const res = await clientFor(apiBase()).fetch(path, {
      headers: headersFor(false),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    followClient();
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

/**
 * fetch rejected: the browser read no response. A no-cors probe tells a CORS block
 * (the server answers, but not to this origin) from an unreachable server.
 * @param {number} id
 * @param {string} label
 * @param {string} what
 * @param {string} base
 * @param {unknown} err
 * @param {unknown} sent
 */
async function showFailure(id, label, what, base, err, sent) {
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (err instanceof DOMException && err.name === "TimeoutError") {
    const detail = `The API at ${base} did not answer within ${TIMEOUT_MS / 1000} s.`;
    show(id, "network", `${label} → no answer`, detail, reason, `${what} failed: no answer`, sent);
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
      `${what} failed: this page's origin is not allowed`,
      sent,
    );
  } else {
    show(
      id,
      "network",
      `${label} → network error`,
      `Could not reach the API at ${base}. Is it running, and is the URL right?`,
      reason,
      `${what} failed: the API cannot be reached`,
      sent,
    );
  }
}

/**
 * The API's error envelope {"error":{"code","message"}}, if `data` is one.
 * @param {unknown} data
 * @returns {{ code: string, message: string } | null}
 */
export function errorOf(data) {
  if (typeof data !== "object" || data === null || !("error" in data)) return null;
  const error = /** @type {{ error: unknown }} */ (data).error;
  if (typeof error !== "object" || error === null) return null;
  const { code, message } = /** @type {{ code?: unknown, message?: unknown }} */ (error);
  return { code: String(code), message: String(message) };
}

/**
 * A request body for the log, its secrets as dots.
 * @param {unknown} body
 */
function masked(body) {
  if (body === undefined) return "";
  return JSON.stringify(body, (key, value) => (SECRET_FIELDS.has(key) && value ? "••••••" : value), 2);
}

/**
 * Puts an outcome in the status line and, once it is final, in the log.
 * @param {number} id
 * @param {Outcome} outcome
 * @param {string} title the call and its status: "POST /login → 200 OK"
 * @param {string} detail
 * @param {string} body the answer as text
 * @param {string} message what happened, for people
 * @param {unknown} [sent] the request body
 */
export function show(id, outcome, title, detail, body, message, sent) {
  if (id !== seq) return; // a newer call owns the status line
  const result = el("result");
  result.dataset.outcome = outcome;
  el("result-message").textContent = message;
  el("result-title").textContent = title;
  el("result-detail").textContent = detail;
  if (outcome === "pending") return;
  el("result-body").textContent = body;
  result.dataset.seq = String(id);
  const item = document.createElement("li");
  item.dataset.outcome = outcome;
  const head = document.createElement("p");
  head.textContent = `${new Date().toLocaleTimeString()}  ${title}${detail ? `  (${detail})` : ""}`;
  item.append(head);
  for (const [name, text] of [
    ["request", masked(sent)],
    ["answer", body],
  ]) {
    if (!text) continue;
    const pre = document.createElement("pre");
    pre.dataset.part = name;
    pre.textContent = text;
    item.append(pre);
  }
  el("history").prepend(item);
  el("log-count").textContent = String(el("history").childElementCount);
}

/**
 * An outcome outside the API: the browser's WebAuthn prompt, a redirect's return.
 * @param {string} title
 * @param {string} detail
 * @param {string} message
 * @param {Outcome} [outcome]
 */
export function showLocal(title, detail, message, outcome = "error") {
  show(++seq, outcome, title, detail, "", message);
}

/**
 * Keeps the tokens and the user from an answer that has them.
 * @param {unknown} data
 */
export function remember(data) {
  if (typeof data !== "object" || data === null) return;
  const d = /** @type {Record<string, unknown>} */ (data);
  if (typeof d.token === "string") session.token = d.token;
  if (typeof d.refresh_token === "string") {
    session.refreshToken = d.refresh_token;
    // Routes the client does not watch (/login/email/verify, /login/exchange): hand it the token too.
    void store.set(d.refresh_token);
  }
  if (typeof d.expires_in === "number") session.expiresIn = d.expires_in;
  if (typeof d.email === "string") session.user = d.email;
  // From /me and POST /email/verify/resend, or else the access token's claim.
  if (typeof d.email_verified === "boolean") session.verified = d.email_verified;
  else if (typeof d.token === "string") {
    const claim = claimOf(d.token, "email_verified");
    session.verified = typeof claim === "boolean" ? claim : null;
  }
  renderSession();
}

export function clearSession() {
  Object.assign(session, { token: null, refreshToken: null, expiresIn: null, user: null, verified: null });
  renderSession();
}

/**
 * One claim of a JWT, read without verifying it (display only), or null.
 * @param {string} token
 * @param {string} name
 * @returns {unknown}
 */
export function claimOf(token, name) {
  try {
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    return payload[name] ?? null;
  } catch {
    return null;
  }
}

/** @param {string | null} token */
function preview(token) {
  return token ? `${token.slice(0, 12)}…${token.slice(-6)} (${token.length} chars)` : "none";
}

export function renderSession() {
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
export function onSubmit(id, handler) {
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
export function onClick(id, handler) {
  el(id).addEventListener("click", () => void handler());
}

/** A short local date and time for an ISO timestamp. @param {string | null | undefined} iso */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "never";
}

/**
 * A button made in code (the page has no inline handlers: its CSP would refuse them).
 * @param {string} text
 * @param {() => Promise<void>} handler
 * @param {string} [className]
 */
export function button(text, handler, className) {
  const made = document.createElement("button");
  made.type = "button";
  made.textContent = text;
  if (className) made.className = className;
  made.addEventListener("click", () => void handler());
  return made;
}
