// The account page: profile, sessions, sign-in methods (TOTP, recovery codes, passkeys),
// linked social accounts and activity. Each section reads its routes quietly and redraws
// after the actions that change it; the actions themselves report in the status line.
import {
  apiBase,
  button,
  call,
  el,
  input,
  onClick,
  onSubmit,
  read,
  remember,
  session,
  showLocal,
  transport,
  when,
} from "./core.js";

/** The activity page's next cursor, or null on the last page. @type {string | null} */
let activityCursor = null;
/** Called after "Log out everywhere" succeeds. */
let signedOutHere = () => {};

/** Reads every section of the account page. */
export async function loadAccount() {
  await Promise.all([renderProfile(), renderSessions(), renderPasskeys(), renderIdentities(), renderActivity(false)]);
}

/** Empties the page, for the next user of this tab. */
export function clearAccount() {
  for (const id of [
    "sessions-list",
    "passkey-list",
    "identities-list",
    "activity-list",
    "recovery-list",
    "link-providers",
  ]) {
    el(id).replaceChildren();
  }
  el("factors").textContent = "Sign in to see your second factors.";
  el("totp-enrolment").hidden = true;
  el("recovery-output").hidden = true;
  input("factor-password").value = "";
  input("factor-code").value = "";
}

async function renderProfile() {
  const me = await read("/me");
  if (!me) {
    el("factors").textContent = "Could not read the factors.";
    return;
  }
  remember({ email: me.email, email_verified: me.email_verified });
  el("profile-email").textContent = me.email;
  el("profile-role").textContent = me.role;
  el("profile-created").textContent = when(me.created_at);
  const form = /** @type {HTMLFormElement} */ (el("profile-form"));
  /** @type {HTMLInputElement} */ (form.elements.namedItem("firstName")).value = me.first_name;
  /** @type {HTMLInputElement} */ (form.elements.namedItem("lastName")).value = me.last_name;
  const mfa = me.mfa;
  el("factors").textContent = mfa
    ? `TOTP: ${mfa.totp ? "on" : "off"} · passkeys: ${mfa.passkeys} · recovery codes left: ${mfa.recovery_codes}`
    : "This API does not report second factors.";
  el("totp-enrol").hidden = Boolean(mfa?.totp);
  el("totp-disable").hidden = !mfa?.totp;
  el("recovery-codes").hidden = !mfa?.totp;
}

/**
 * One row of a list: a label, a line of detail, then buttons.
 * @param {string} label
 * @param {string} detail
 * @param {HTMLElement[]} [actions]
 */
function row(label, detail, actions = []) {
  const item = document.createElement("li");
  const text = document.createElement("div");
  const strong = document.createElement("strong");
  strong.className = "row-label";
  strong.textContent = label;
  const small = document.createElement("span");
  small.className = "row-detail";
  small.textContent = detail;
  text.append(strong, small);
  item.append(text, ...actions);
  return item;
}

/** What a session's user agent says, shortened for a list. @param {string | null} agent */
function device(agent) {
  if (!agent) return "Unknown device";
  const browser = /(Firefox|Edg|Chrome|Safari|node|curl)[/ ]?[\d.]*/.exec(agent)?.[0];
  return browser ?? agent.slice(0, 40);
}

async function renderSessions() {
  const data = await read("/sessions");
  const list = el("sessions-list");
  list.replaceChildren();
  for (const each of data?.sessions ?? []) {
    const revoke = button(each.current ? "Log out" : "Revoke", async () => {
      const res = await call("DELETE", `/sessions/${each.id}`, { what: "Revoke the session", done: "Session revoked" });
      if (res?.status === 204) {
        if (each.current) signedOutHere();
        else await renderSessions();
      }
    });
    revoke.setAttribute(
      "aria-label",
      `Revoke the session of ${device(each.user_agent)} started ${when(each.created_at)}`,
    );
    const item = row(
      `${device(each.user_agent)}${each.current ? " · this page" : ""}`,
      `started ${when(each.created_at)}, last used ${when(each.last_used_at)}${each.ip ? `, from ${each.ip}` : ""}`,
      [revoke],
    );
    item.dataset.id = each.id;
    if (each.current) item.dataset.current = "true";
    list.append(item);
  }
  if (list.childElementCount === 0) list.append(row("No live sessions", ""));
}

async function renderPasskeys() {
  const data = await read("/me/passkeys");
  const list = el("passkey-list");
  list.replaceChildren();
  for (const key of data?.passkeys ?? []) list.append(passkeyItem(key));
}

/** @param {{ id: string, name: string, created_at: string, last_used_at: string | null }} key */
function passkeyItem(key) {
  const item = document.createElement("li");
  item.dataset.id = key.id;
  const label = document.createElement("span");
  label.className = "passkey-name";
  label.textContent = `${key.name} (added ${key.created_at.slice(0, 10)}, last used ${key.last_used_at?.slice(0, 10) ?? "never"})`;
  const rename = button("Rename", async () => {
    const name = input("passkey-name").value;
    await call("PATCH", `/me/passkeys/${key.id}`, {
      body: { name },
      what: "Rename the passkey",
      done: `Passkey renamed to ${name}`,
    });
    await Promise.all([renderPasskeys(), renderActivity(false)]);
  });
  rename.setAttribute("aria-label", `Rename ${key.name} to the name above`);
  const remove = button(
    "Remove",
    async () => {
      await call("DELETE", `/me/passkeys/${key.id}`, {
        body: { password: input("factor-password").value },
        what: "Remove the passkey",
        done: "Passkey removed",
      });
      await refreshFactors();
    },
    "danger",
  );
  remove.setAttribute("aria-label", `Remove ${key.name}`);
  item.append(label, rename, remove);
  return item;
}

async function renderIdentities() {
  const [data, providers] = await Promise.all([read("/me/identities"), read("/login/social")]);
  const list = el("identities-list");
  list.replaceChildren();
  /** @type {Map<string, string>} */
  const names = new Map(
    (providers?.providers ?? []).map((/** @type {{ id: string, name: string }} */ p) => [p.id, p.name]),
  );
  for (const identity of data?.identities ?? []) {
    const name = names.get(identity.provider) ?? identity.provider;
    const unlink = button(
      "Unlink",
      async () => {
        const res = await call("DELETE", `/me/identities/${identity.id}`, {
          what: `Unlink ${name}`,
          done: `${name} unlinked`,
        });
        if (res?.status === 204) await renderIdentities();
      },
      "danger",
    );
    unlink.setAttribute("aria-label", `Unlink ${name}`);
    list.append(row(name, `${identity.email ?? "no email"}, linked ${when(identity.created_at)}`, [unlink]));
  }
  if (list.childElementCount === 0)
    list.append(row("No linked accounts", data ? "" : "This API has no social sign-in."));
  const links = el("link-providers");
  links.replaceChildren();
  // The trip to the provider reloads this page: only a cookie session survives it.
  el("link-hint").hidden = transport === "cookie" || !providers?.providers?.length;
  for (const { id, name } of providers?.providers ?? []) {
    links.append(
      button(`Link ${name}`, async () => {
        const back = new URL(location.pathname, location.origin);
        back.searchParams.set("api", apiBase());
        const res = await call("POST", `/me/identities/${encodeURIComponent(id)}`, {
          body: { redirect_to: back.href },
          what: `Link ${name}`,
          done: `Off to ${name}…`,
        });
        const url = /** @type {{ authorize_url?: unknown } | undefined} */ (res?.data)?.authorize_url;
        // A navigation: the API sets its cookie for the trip, the provider sends the browser back.
        if (res?.status === 200 && typeof url === "string") location.assign(url);
      }),
    );
    /** @type {HTMLButtonElement} */ (links.lastElementChild).disabled = transport !== "cookie";
  }
}

/**
 * One page of GET /me/activity; `more` appends the next page.
 * @param {boolean} more
 */
async function renderActivity(more) {
  const cursor = more ? activityCursor : null;
  const data = await read(`/me/activity${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
  const list = el("activity-list");
  if (!more) list.replaceChildren();
  for (const event of data?.events ?? []) {
    const by = event.actor === "user" ? "" : ` by ${event.actor === "admin" ? "an admin" : "the system"}`;
    const item = row(
      event.type.replaceAll("_", " "),
      `${when(event.time)}${by}${event.ip ? `, from ${event.ip}` : ""}`,
    );
    item.dataset.type = event.type;
    list.append(item);
  }
  activityCursor = data?.next_cursor ?? null;
  el("activity-more").hidden = activityCursor === null;
}

/** After a factor changed: the summary, the passkeys and the activity. */
async function refreshFactors() {
  await Promise.all([renderProfile(), renderPasskeys(), renderActivity(false)]);
}

/** Shows recovery codes from an answer that has them. @param {unknown} data */
function showRecoveryCodes(data) {
  const codes = /** @type {{ recovery_codes?: unknown } | undefined} */ (data)?.recovery_codes;
  if (!Array.isArray(codes)) return;
  const list = el("recovery-list");
  list.replaceChildren();
  for (const code of codes) {
    const item = document.createElement("li");
    item.textContent = String(code);
    list.append(item);
  }
  el("recovery-output").hidden = false;
}

/**
 * Wires the account page's buttons. `onSignedOut` runs when this page's session ended here.
 * @param {() => void} onSignedOut
 */
export function initAccount(onSignedOut) {
  signedOutHere = onSignedOut;

  onSubmit("profile-form", async (fields) => {
    const res = await call("PATCH", "/me", { body: fields, what: "Save names", done: "Names saved" });
    if (res?.status === 200) await renderProfile();
  });

  onClick("me", async () => {
    const res = await call("GET", "/me", { what: "Reload the account", done: "Account reloaded" });
    if (res?.status === 200) remember(res.data);
    await loadAccount();
  });

  onClick("welcome", async () => {
    await call("GET", "/welcome", { what: "Call /welcome", done: "The protected route let you in" });
  });

  onClick("resend", async () => {
    const res = await call("POST", "/email/verify/resend", { what: "Resend the verification mail", done: "Mail sent" });
    if (res?.status === 200) remember(res.data);
  });

  onClick("refresh", async () => {
    const body =
      transport === "cookie" ? { refresh_transport: "cookie" } : { refresh_token: session.refreshToken ?? "" };
    const res = await call("POST", "/token/refresh", { body, what: "Refresh the token", done: "New tokens in hand" });
    if (res?.status === 200) remember(res.data);
    await renderSessions();
  });

  onClick("logout-all", async () => {
    const res = await call("POST", "/logout/all", { what: "Log out everywhere", done: "Every session ended" });
    if (res?.status === 204) signedOutHere();
  });

  onClick("passkey-add", async () => {
    const start = await call("POST", "/me/passkeys/options", {
      what: "Add a passkey",
      done: "Waiting for the authenticator…",
    });
    if (start?.status !== 200) return;
    let response;
    try {
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
        /** @type {PublicKeyCredentialCreationOptionsJSON} */ (start.data),
      );
      const credential = /** @type {PublicKeyCredential | null} */ (await navigator.credentials.create({ publicKey }));
      response = credential?.toJSON();
    } catch (err) {
      showLocal("navigator.credentials.create → failed", String(err), "Add a passkey failed: the browser made none");
      return;
    }
    await call("POST", "/me/passkeys", {
      body: { response, name: input("passkey-name").value },
      what: "Add a passkey",
      done: "Passkey added",
    });
    await refreshFactors();
  });

  onClick("totp-enrol", async () => {
    const res = await call("POST", "/me/mfa/totp", {
      body: { password: input("factor-password").value },
      what: "Set up the authenticator app",
      done: "Scan the QR code, then confirm with a code",
    });
    if (res?.status !== 200) return;
    const { secret, qr_svg } = /** @type {{ secret: string, qr_svg: string }} */ (res.data);
    el("totp-secret").textContent = secret;
    // As an image, so the SVG is drawn but never parsed into this page.
    /** @type {HTMLImageElement} */ (el("totp-qr")).src = `data:image/svg+xml,${encodeURIComponent(qr_svg)}`;
    el("totp-enrolment").hidden = false;
    input("factor-code").focus();
  });

  onClick("totp-confirm", async () => {
    const res = await call("POST", "/me/mfa/totp/confirm", {
      body: { code: input("factor-code").value },
      what: "Confirm the authenticator app",
      done: "Authenticator app on: save your recovery codes",
    });
    if (res?.status === 200) {
      el("totp-enrolment").hidden = true;
      input("factor-code").value = "";
      showRecoveryCodes(res.data);
    }
    await refreshFactors();
  });

  onClick("recovery-codes", async () => {
    const res = await call("POST", "/me/mfa/recovery-codes", {
      body: { code: input("factor-code").value },
      what: "New recovery codes",
      done: "New recovery codes: the old ones no longer work",
    });
    if (res?.status === 200) {
      input("factor-code").value = "";
      showRecoveryCodes(res.data);
    }
    await refreshFactors();
  });

  onClick("totp-disable", async () => {
    const body = { password: input("factor-password").value, code: input("factor-code").value };
    const res = await call("DELETE", "/me/mfa/totp", {
      body,
      what: "Turn the authenticator app off",
      done: "Authenticator app off",
    });
    if (res?.status === 204) {
      input("factor-code").value = "";
      el("recovery-output").hidden = true;
    }
    await refreshFactors();
  });

  onClick("activity-more", () => renderActivity(true));
}
