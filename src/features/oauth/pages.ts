import type { Context } from "hono";
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { AppEnv } from "../../platform/env";
import { linkPageHeaders, newNonce } from "../../platform/http/security-headers";
import type { AuthorizationRequest } from "./authorize-request";
import { scopeInWords } from "./scopes";

// The authorization server's pages: login, second factor, consent, and the page of a
// request that cannot go back to its client. Server-rendered, usable without JavaScript
// (only the passkey button needs it), every client-supplied text escaped by hono/html,
// under a Content-Security-Policy that runs only this page's nonce'd script and style,
// never in a frame (frame-ancestors 'none', X-Frame-Options: DENY: no clickjacking of the
// consent buttons), never cached.

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827;line-height:1.5}
main{max-width:26rem;margin:4rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:2rem;box-shadow:0 1px 3px rgba(0,0,0,.06)}
.brand{font-weight:600;color:#374151;margin:0 0 1.25rem;font-size:.95rem;letter-spacing:.02em}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .75rem}
p{margin:.5rem 0}
label{display:block;font-weight:600;margin:1rem 0 .35rem;font-size:.95rem}
input{display:block;width:100%;padding:.65rem .75rem;font-size:1rem;border:1px solid #6b7280;border-radius:8px;background:#fff;color:#111827}
input:focus,button:focus,a:focus{outline:3px solid #93c5fd;outline-offset:2px}
button,.button{display:block;width:100%;margin-top:1.25rem;padding:.7rem 1rem;font-size:1rem;font-weight:600;border-radius:8px;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer;text-align:center;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:#1f2937;border-color:#9ca3af}
.actions{display:flex;gap:.75rem}.actions button{flex:1}
.alert{margin:0 0 1rem;padding:.75rem 1rem;border-radius:8px;background:#fef2f2;border:1px solid #fecaca;color:#991b1b}
.note{margin:1rem 0;padding:.75rem 1rem;border-radius:8px;background:#fffbeb;border:1px solid #fcd34d;color:#78350f}
.muted{color:#4b5563;font-size:.9rem}
.divider{display:flex;align-items:center;gap:.75rem;margin:1.5rem 0 0;color:#4b5563;font-size:.9rem}
.divider::before,.divider::after{content:"";flex:1;border-top:1px solid #e5e7eb}
ul.scopes{padding-left:1.25rem;margin:.5rem 0 1rem}ul.scopes li{margin:.35rem 0}
code{font-size:.9em;background:#f3f4f6;padding:.1rem .3rem;border-radius:4px;word-break:break-all}
`;

/** The origin of the client's redirect URI (its scheme alone for a native app's private-use
 * scheme, `com.example.app:`, RFC 8252 §7.1, which has no origin): the forms' answers may
 * redirect there, and browsers hold a form's redirect to its `form-action` too. */
function formTargets(request?: AuthorizationRequest): string[] {
  if (!request) return ["'self'"];
  const url = new URL(request.redirectUri);
  return ["'self'", url.origin === "null" ? url.protocol : url.origin];
}

/** One page: the headers (no-store, CSP with `nonce`, form-action `'self'` and the client's
 * redirect origin) and the document around `body`. */
function page(
  c: Context<AppEnv>,
  status: 200 | 400 | 401 | 403 | 429,
  title: string,
  body: Html,
  { request, nonce = newNonce(), script }: { request?: AuthorizationRequest; nonce?: string; script?: string } = {},
): Response | Promise<Response> {
  linkPageHeaders(c, nonce, formTargets(request));
  const appName = c.var.config.appName;
  const document = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · ${appName}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${raw(STYLE)}</style>
</head>
<body>
<main>
<div class="card">
<p class="brand">${appName}</p>
${body}
</div>
</main>
${script ? html`<script nonce="${nonce}">${raw(script)}</script>` : ""}
</body>
</html>
`;
  return c.html(document, status);
}

const alert = (message?: string) => (message ? html`<p class="alert" role="alert">${message}</p>` : "");
const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;

/** A request that cannot go back to its client (400), a form that did not come from
 * our page (403), or too many requests from one IP before the client is known (429): a page for the person, never a redirect. */
export function stopPage(c: Context<AppEnv>, status: 400 | 403 | 429, title: string, message: string) {
  return page(
    c,
    status,
    title,
    html`<h1>${title}</h1><p>${message}</p><p class="muted">Go back to the application and try again.</p>`,
  );
}

/** The login page: email and password (a plain form POST), and a button per social
 * sign-in provider when social login is on. */
export function loginPage(
  c: Context<AppEnv>,
  request: AuthorizationRequest,
  csrf: string,
  { message, email = "", status = 200 }: { message?: string; email?: string; status?: 200 | 401 | 403 | 429 } = {},
) {
  const { social, publicOrigin } = c.var.config;
  const back = `${publicOrigin ?? new URL(c.req.url).origin}/oauth/authorize/social?${new URLSearchParams({ csrf_token: csrf })}`;
  const providers = social.providers.map(
    (provider) =>
      html`<a class="button secondary" href="/login/social/${provider.id}?${new URLSearchParams({ redirect_to: back }).toString()}">Continue with ${provider.name}</a>`,
  );
  return page(
    c,
    status,
    "Sign in",
    html`<h1>Sign in to continue to ${request.client.clientName}</h1>
${alert(message)}
<form method="post" action="/oauth/authorize">
${hidden("csrf_token", csrf)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${email}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
${providers.length > 0 ? html`<p class="divider">or</p>${providers}` : ""}`,
    { request },
  );
}

/** The second step: a TOTP or recovery code in `code`, and, when the account has one, a
 * passkey button (its script asks POST /login/mfa/webauthn/options for the challenge and
 * posts the assertion as `webauthn`). */
export function secondFactorPage(
  c: Context<AppEnv>,
  request: AuthorizationRequest,
  csrf: string,
  {
    mfaToken,
    methods,
    message,
    status = 200,
  }: { mfaToken: string; methods: readonly string[]; message?: string; status?: 200 | 401 | 429 },
) {
  const passkey = methods.includes("webauthn");
  const codes = methods.includes("totp") || methods.includes("recovery_code");
  return page(
    c,
    status,
    "Confirm it is you",
    html`<h1>Confirm it is you</h1>
${alert(message)}
${
  codes
    ? html`<form method="post" action="/oauth/authorize">
${hidden("csrf_token", csrf)}${hidden("mfa_token", mfaToken)}
<label for="code">Code from your authenticator app, or a recovery code</label>
<input id="code" name="code" type="text" autocomplete="one-time-code" required autocapitalize="none" spellcheck="false">
<button type="submit">Continue</button>
</form>`
    : ""
}
${
  passkey
    ? html`<form id="passkey" method="post" action="/oauth/authorize">
${hidden("csrf_token", csrf)}${hidden("mfa_token", mfaToken)}${hidden("webauthn", "")}
<button id="passkey-button" type="button" class="${codes ? "secondary" : ""}">Use a passkey</button>
<p id="passkey-status" class="muted" role="status"></p>
</form>`
    : ""
}`,
    { request, script: passkey ? PASSKEY_SCRIPT : undefined },
  );
}

/** Asks for the challenge, gets the assertion from the browser, posts it as JSON in the
 * `webauthn` field (base64url, the shape POST /login/mfa takes). */
const PASSKEY_SCRIPT = `
const form = document.getElementById("passkey");
const status = document.getElementById("passkey-status");
const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
document.getElementById("passkey-button").addEventListener("click", async () => {
  status.textContent = "Waiting for your passkey…";
  try {
    const res = await fetch("/login/mfa/webauthn/options", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ mfa_token: form.elements.mfa_token.value }),
    });
    if (!res.ok) throw new Error("options");
    const { options } = await res.json();
    const credential = await navigator.credentials.get({ publicKey: {
      ...options,
      challenge: bytes(options.challenge),
      allowCredentials: (options.allowCredentials || []).map((item) => ({ ...item, id: bytes(item.id) })),
    } });
    const r = credential.response;
    form.elements.webauthn.value = JSON.stringify({
      id: credential.id, rawId: b64(credential.rawId), type: credential.type,
      response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData),
        signature: b64(r.signature), ...(r.userHandle ? { userHandle: b64(r.userHandle) } : {}) },
      clientExtensionResults: credential.getClientExtensionResults(),
    });
    form.submit();
  } catch {
    status.textContent = "The passkey did not work. Try again, or use a code.";
  }
});
`;

/** The consent page: who asks (its name, where it sends you back, and whether this
 * deployment registered it), what for (each scope in plain words, the resource), and two
 * buttons, `decision=allow` and `decision=deny`. */
export function consentPage(c: Context<AppEnv>, request: AuthorizationRequest, csrf: string, email: string) {
  const { client } = request;
  const appName = c.var.config.appName;
  const host = new URL(request.redirectUri).host;
  const unverified = client.registration !== "admin";
  // OpenID Connect's own scopes first, in the order people read them, then the others.
  const order = (scope: string) => {
    const at = ["openid", "profile", "email", "offline_access"].indexOf(scope);
    return at === -1 ? 4 : at;
  };
  const listed = [...request.scope].sort((a, b) => order(a) - order(b));
  const scopes =
    listed.length > 0
      ? listed.map((scope) => html`<li>${scopeInWords(scope)}</li>`)
      : html`<li>Only confirm that you are signed in (no other data)</li>`;
  return page(
    c,
    200,
    "Allow access",
    html`<h1>${client.clientName} wants to access your ${appName} account</h1>
<p class="muted">Signed in as ${email}. After your answer you go back to <strong>${host}</strong>.</p>
${unverified ? html`<p class="note"><strong>Not verified by ${appName}.</strong> This application registered itself; ${appName} does not vouch for it. Allow it only if you trust ${host}.</p>` : ""}
<h2 class="brand">It will be able to:</h2>
<ul class="scopes">${scopes}</ul>
${request.resource ? html`<p class="muted">For use at <code>${request.resource}</code></p>` : ""}
<form method="post" action="/oauth/authorize">
${hidden("csrf_token", csrf)}
<div class="actions">
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="allow">Allow</button>
</div>
</form>`,
    { request },
  );
}
