import type { Context } from "hono";
import type { AppEnv } from "../../platform/env";
import { linkPageHeaders, newNonce } from "../../platform/http/security-headers";
import { escapeHtml } from "../../platform/mail/templates";
import type { RouteDoc } from "../../platform/openapi/describe";

/** What each page of a mailed link says and where its button posts. */
const PAGES = {
  verify: {
    title: "Confirm your email address",
    button: "Confirm my email address",
    endpoint: "/email/verify",
    done: "Your email address is confirmed. You can close this page.",
    password: false,
  },
  reset: {
    title: "Choose a new password",
    button: "Set my new password",
    endpoint: "/password/reset",
    done: "Your password was changed and every device was signed out. Sign in with the new password.",
    password: true,
  },
  change: {
    title: "Confirm your new email address",
    button: "Use this email address",
    endpoint: "/email/change/confirm",
    done: "Your account now uses this email address. Other devices were signed out.",
    password: false,
  },
} as const;

export type LinkPage = keyof typeof PAGES;

/** The OpenAPI description of the GET route that serves `kind`'s page. */
export function linkPageDoc(kind: LinkPage): RouteDoc {
  const { endpoint } = PAGES[kind];
  const names = { verify: "verification", reset: "password-reset", change: "email-change" } as const;
  const ids = { verify: "verifyEmailPage", reset: "passwordResetPage", change: "confirmEmailChangePage" } as const;
  return {
    operationId: ids[kind],
    tag: "Email",
    summary: `Page of a ${names[kind]} link`,
    description: `The page a mailed link opens (when APP_URL is set, links open the app's page at the same path instead). Opening it changes nothing: its button POSTs the token from the address bar${kind === "reset" ? " with the new password" : ""} to POST ${endpoint}.`,
    access: "public",
    ok: {
      status: 200,
      description: "An HTML page",
      text: { "text/html": "<!doctype html>…" },
      cacheControl: "no-store",
    },
    database: false,
  };
}

/** The page a mailed link opens. It changes nothing itself (mail scanners and link
 * previews fetch links): its form POSTs the token from the address bar as JSON, then
 * shows the outcome. The token is read by the script, never echoed into the HTML. */
export function linkPage<E extends AppEnv>(c: Context<E>, kind: LinkPage): Response {
  const page = PAGES[kind];
  const nonce = newNonce();
  const appName = escapeHtml(c.var.config.appName);
  const field = page.password
    ? `<label for="password">New password (8 to 72 bytes)</label>
<input id="password" name="newPassword" type="password" autocomplete="new-password" required minlength="8">`
    : "";
  const settings = JSON.stringify({ endpoint: page.endpoint, done: page.done, password: page.password });
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(page.title)} · ${appName}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.5rem 0}
input,button{padding:.6rem;font-size:1rem}
#status[data-kind=error]{color:#b00020}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
<p>${appName}</p>
<form id="form">
${field}
<button id="submit" type="submit">${escapeHtml(page.button)}</button>
</form>
<p id="status" role="status"></p>
</main>
<script nonce="${nonce}">
const settings = ${settings};
const token = new URLSearchParams(location.search).get("token") || "";
// Out of the address bar (and so of history and screenshots) once read.
history.replaceState(null, "", location.pathname);
const form = document.getElementById("form");
const status = document.getElementById("status");
function show(text, kind) { status.textContent = text; status.dataset.kind = kind; }
if (!token) { show("This link is incomplete: open it from the mail again.", "error"); form.hidden = true; }
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { token };
  if (settings.password) body.newPassword = document.getElementById("password").value;
  document.getElementById("submit").disabled = true;
  try {
    const res = await fetch(settings.endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.ok) { form.hidden = true; show(settings.done, "ok"); return; }
    const answer = await res.json().catch(() => ({}));
    show(answer.error ? answer.error.message : "Something went wrong, try again.", "error");
    if (!answer.error || answer.error.code !== "invalid_input") form.hidden = true;
  } catch {
    show("The server could not be reached, try again.", "error");
  }
  document.getElementById("submit").disabled = false;
});
</script>
</body>
</html>
`;
  // Its script talks to this origin; it has no form to post.
  linkPageHeaders(c, nonce);
  return c.html(html);
}
