// The demo: an app on its own origin calling the API's origin through the project's
// client (/client.js, packages/client bundled), which attaches the access token and
// refreshes it on 401. Over HTTPS the refresh token travels in an HttpOnly cookie this
// page can never read (refresh_transport "cookie"), so a reload stays signed in; over
// plain http browsers drop Secure cookies, so the page keeps it in memory ("body").
// Three screens: signed out (sign in / create account), the second step of a sign-in,
// and the account (account.js). Every outcome goes to the status line at the top and the
// request log at the bottom (core.js).
import { clearAccount, initAccount, loadAccount } from "./account.js";
import {
  apiBase,
  call,
  claimOf,
  clearSession,
  clientFor,
  el,
  input,
  onClick,
  onSubmit,
  remember,
  renderSession,
  session,
  showLocal,
  transport,
  whenSignedOut,
} from "./core.js";

el("page-origin").textContent = location.origin;
el("transport").textContent =
  transport === "cookie" ? "cookie: in an HttpOnly cookie this page cannot read" : "body: kept in this page's memory";

/** @typedef {"signed-out" | "mfa-step" | "account"} Screen */

/**
 * Shows one screen and moves the focus to it (`focus` names the element to focus).
 * @param {Screen} screen
 * @param {string} [focus]
 */
function setScreen(screen, focus) {
  for (const id of ["signed-out", "mfa-step", "account"]) el(id).hidden = id !== screen;
  document.body.dataset.screen = screen;
  /** @type {HTMLElement} */ (el("session-user").parentElement).hidden = screen !== "account";
  if (focus) el(focus).focus();
}

/** A sign-in succeeded: keep the tokens, show the account. @param {unknown} data */
async function signedIn(data) {
  remember(data);
  mfaToken = null;
  setScreen("account", "account-title");
  await loadAccount();
}

/** The session ended (logout here or elsewhere, a refused refresh): back to sign-in. */
function signedOut() {
  clearSession();
  clearAccount();
  selectTab(el("tab-login"));
  if (document.body.dataset.screen !== "signed-out") setScreen("signed-out", "signed-out-title");
}
whenSignedOut(signedOut);
initAccount(signedOut);

// Tabs: "Sign in" and "Create account" (WAI-ARIA tabs: arrow keys move between them).
const tabs = [el("tab-login"), el("tab-register")];
/** @param {HTMLElement} tab */
function selectTab(tab) {
  for (const each of tabs) {
    const selected = each === tab;
    each.setAttribute("aria-selected", String(selected));
    each.tabIndex = selected ? 0 : -1;
    el(String(each.getAttribute("aria-controls"))).hidden = !selected;
  }
}
for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (event) => {
    if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    event.preventDefault();
    const at = tabs.indexOf(tab);
    const next =
      event.key === "Home"
        ? tabs[0]
        : event.key === "End"
          ? tabs.at(-1)
          : tabs[(at + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    if (next) {
      selectTab(next);
      next.focus();
    }
  });
}

/** @param {string} form @param {string} name */
function field(form, name) {
  return /** @type {HTMLInputElement} */ (el(form).querySelector(`[name=${name}]`));
}

onSubmit("register-form", async (fields) => {
  const res = await call("POST", "/register", {
    body: { ...fields, refresh_transport: transport },
    what: "Create the account",
    done: `Welcome, ${fields.firstName ?? ""}: your account is ready`,
  });
  if (res?.status !== 201) return;
  // Signing in again later starts from the same address.
  field("login-form", "email").value = fields.email ?? "";
  await signedIn(res.data);
});

onSubmit("login-form", async (fields) => {
  const res = await call("POST", "/login", {
    body: { ...fields, refresh_transport: transport },
    what: "Sign in",
    done: `Signed in as ${fields.email ?? ""}`,
  });
  await afterSignIn(res);
});

/** Where a first factor's answer leads: the account, or the second step. @param {{ status: number, data: unknown } | null} res */
async function afterSignIn(res) {
  if (res?.status === 200) await signedIn(res.data);
  else if (res?.status === 403) awaitSecondFactor(res.data);
}

onClick("forgot", async () => {
  await call("POST", "/password/forgot", {
    body: { email: field("login-form", "email").value },
    what: "Mail a reset link",
    done: "If the address has an account, a reset link is on its way",
  });
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
  const res = await call("POST", "/login/email", {
    body: { email: fields.email ?? "", redirect_to: returnUrl() },
    what: "Email a sign-in code",
    done: "If the address has an account, a code and a link are on their way",
  });
  if (res?.status === 202) input("email-code").focus();
});

onClick("email-code-submit", async () => {
  const body = {
    email: field("email-login-form", "email").value,
    code: input("email-code").value,
    refresh_transport: transport,
  };
  const res = await call("POST", "/login/email/verify", { body, what: "Sign in with the code", done: "Signed in" });
  await afterSignIn(res);
});

// The second step. WebAuthn options and responses travel as JSON through the browser's
// own PublicKeyCredential.parse*OptionsFromJSON and toJSON().

/** The mfa_token of a login waiting for its second factor. @type {string | null} */
let mfaToken = null;
/** Whether the step's input takes a recovery code rather than a TOTP code. */
let recoveryMode = false;

/** @param {unknown} data */
function awaitSecondFactor(data) {
  const d = /** @type {Record<string, unknown>} */ (data ?? {});
  if (typeof d.mfa_token !== "string") return;
  mfaToken = d.mfa_token;
  const methods = Array.isArray(d.mfa_methods) ? d.mfa_methods.map(String) : [];
  el("mfa-pending").textContent =
    `Your first factor was right. Finish with ${methods.map(methodName).join(" or ")} within 5 minutes.`;
  el("mfa-pending").dataset.methods = methods.join(", ");
  el("mfa-passkey").hidden = !methods.includes("webauthn");
  el("mfa-recovery").hidden = !methods.includes("recovery_code") || !methods.includes("totp");
  const codes = methods.includes("totp") || methods.includes("recovery_code");
  el("mfa-form").hidden = !codes;
  setRecoveryMode(!methods.includes("totp"));
  setScreen("mfa-step", codes ? "mfa-code-input" : "mfa-passkey");
}

/** @param {string} method */
function methodName(method) {
  return (
    { totp: "a code from your authenticator", recovery_code: "a recovery code", webauthn: "a passkey" }[method] ??
    method
  );
}

/** @param {boolean} on */
function setRecoveryMode(on) {
  recoveryMode = on;
  el("mfa-code-label-text").textContent = on
    ? "Enter one of your recovery codes"
    : "Enter the code from your authenticator";
  input("mfa-code-input").inputMode = on ? "text" : "numeric";
  input("mfa-code-input").name = on ? "recovery_code" : "code";
  el("mfa-recovery").textContent = on ? "Use the authenticator code instead" : "Use a recovery code instead";
}

onClick("mfa-recovery", async () => {
  setRecoveryMode(!recoveryMode);
  input("mfa-code-input").value = "";
  input("mfa-code-input").focus();
});

onSubmit("mfa-form", async () => {
  const value = input("mfa-code-input").value.trim();
  const factor = recoveryMode ? { recovery_code: value } : { code: value };
  const res = await call("POST", "/login/mfa", {
    body: { mfa_token: mfaToken ?? "", ...factor, refresh_transport: transport },
    what: "Check the code",
    done: "Signed in",
  });
  if (res?.status === 200) {
    input("mfa-code-input").value = "";
    await signedIn(res.data);
  } else {
    input("mfa-code-input").select();
  }
});

onClick("mfa-passkey", async () => {
  const options = await call("POST", "/login/mfa/webauthn/options", {
    body: { mfa_token: mfaToken ?? "" },
    what: "Use a passkey",
    done: "Waiting for the passkey…",
  });
  if (options?.status !== 200) return;
  const webauthn = await getAssertion(/** @type {{ options: unknown }} */ (options.data).options);
  if (!webauthn) return;
  const res = await call("POST", "/login/mfa", {
    body: { mfa_token: mfaToken ?? "", webauthn, refresh_transport: transport },
    what: "Sign in with the passkey",
    done: "Signed in",
  });
  if (res?.status === 200) await signedIn(res.data);
});

onClick("mfa-cancel", async () => {
  mfaToken = null;
  setScreen("signed-out", "signed-out-title");
});

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
    showLocal("navigator.credentials.get → failed", String(err), "The passkey was not used");
    return null;
  }
}

onClick("passkey-login", async () => {
  const start = await call("POST", "/login/passkey/options", {
    what: "Sign in with a passkey",
    done: "Waiting for the passkey…",
  });
  if (start?.status !== 200) return;
  const { options, challenge_id } = /** @type {{ options: unknown, challenge_id: string }} */ (start.data);
  const response = await getAssertion(options);
  if (!response) return;
  const res = await call("POST", "/login/passkey", {
    body: { challenge_id, response, refresh_transport: transport },
    what: "Sign in with a passkey",
    done: "Signed in with your passkey",
  });
  if (res?.status === 200) await signedIn(res.data);
});

onClick("logout", async () => {
  const res = await call("POST", "/logout", { what: "Log out", done: "Signed out" });
  if (res && res.status < 300) signedOut();
  if (res?.status === 404) {
    // Without /logout the token stays valid until it expires; the page forgets it anyway.
    signedOut();
    el("result-detail").append(" Signed out in this page only: the token stays valid until it expires.");
  }
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
  const email = claimOf(client.accessToken, "email");
  Object.assign(session, { token: client.accessToken, user: typeof email === "string" ? email : null });
  renderSession();
  setScreen("account");
  await loadAccount();
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
  list.textContent = providers.length === 0 ? "No social sign-in: SOCIAL_PROVIDERS is empty." : "";
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

/** Back from a trip that ended in a redirect (a social provider, a mailed link, linking an
 * identity): trades `?code=` at POST /login/exchange (tokens never travel in the URL),
 * or shows `?error=` / `?linked=`. True when the page was such a return. */
async function finishRedirect() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const error = params.get("error");
  const linked = params.get("linked");
  if (!code && !error && !linked) return false;
  for (const name of ["code", "error", "linked"]) params.delete(name);
  // Out of the address bar (and history) at once: the code works once anyway.
  history.replaceState(null, "", `${location.pathname}${params.size > 0 ? `?${params}` : ""}`);
  if (linked) {
    // Linking started signed in: in cookie mode the session comes back from the cookie.
    await restore();
    showLocal(`Linked: ${linked}`, "", `Linked ${linked} to your account`, "ok");
    return true;
  }
  if (error) {
    // A refused link (identity_in_use, say) leaves the session as it was: in cookie mode, back from the cookie.
    await restore();
    const what = session.token ? "Linking" : "Sign-in";
    showLocal(
      `${what} → error=${error}`,
      `The provider or the API refused the ${what.toLowerCase()}`,
      `${what} refused: ${error}`,
    );
    return true;
  }
  const res = await call("POST", "/login/exchange", {
    body: { code, refresh_transport: transport },
    what: "Finish signing in",
    done: "Signed in",
  });
  await afterSignIn(res);
  return true;
}

renderSession();
setScreen("signed-out");
document.body.dataset.ready = "false";
void (async () => {
  if (!(await finishRedirect())) await restore();
  await renderProviders();
})().finally(() => {
  document.body.dataset.ready = "true";
});
