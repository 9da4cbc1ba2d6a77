import type { Context } from "hono";
import type { AppEnv } from "../../platform/env";
import { linkPageHeaders, newNonce } from "../../platform/http/security-headers";
import { escapeHtml } from "../../platform/mail/templates";

// The pages of an emailed sign-in link. GET shows them and changes nothing (mail
// scanners and link previews fetch links, some more than once); only the page's form,
// posted by the person, spends the link.

/** The page a live link opens: one "Sign in" button whose form POSTs the token (in the
 * body, never a URL) to /login/email/link, same origin. The token leaves the address bar
 * (and so history) as soon as the page loads. */
export function signInPage<E extends AppEnv>(c: Context<E>, token: string): Response {
  const appName = escapeHtml(c.var.config.appName);
  return page(
    c,
    200,
    `Sign in to ${appName}`,
    (nonce) => `<p>Someone asked to sign in to ${appName} with this email address. If it was you, continue.</p>
<form method="post" action="/login/email/link">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Sign in</button>
</form>
<p>If it wasn't you, close this page: nothing happens unless the button is pressed.</p>
<script nonce="${nonce}">history.replaceState(null, "", location.pathname);</script>`,
  );
}

/** The page of an expired, used or replaced link: it says so and offers a new one (a
 * JSON POST /login/email to the same `redirect_to`, when it is known and still allowed). */
export function deadLinkPage<E extends AppEnv>(c: Context<E>, status: 200 | 400, redirectTo?: string): Response {
  const settings = JSON.stringify({ redirect_to: redirectTo ?? null }).replace(/</g, "\\u003c");
  return page(
    c,
    status,
    "This sign-in link has expired or was already used",
    (nonce) => `<p>Sign-in links work once, for a short time, and a newer request replaces them. Ask for a new one:</p>
<form id="again">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" required>
<button type="submit">Send me a new link</button>
</form>
<p id="status" role="status"></p>
<script nonce="${nonce}">
const settings = ${settings};
history.replaceState(null, "", location.pathname);
const form = document.getElementById("again");
const status = document.getElementById("status");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { email: document.getElementById("email").value };
  if (settings.redirect_to) body.redirect_to = settings.redirect_to;
  try {
    const res = await fetch("/login/email", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    status.textContent = res.ok
      ? "If an account uses this address, a new sign-in mail is on its way."
      : (answer.error ? answer.error.message : "Something went wrong, try again.");
  } catch {
    status.textContent = "The server could not be reached, try again.";
  }
});
</script>`,
  );
}

function page<E extends AppEnv>(
  c: Context<E>,
  status: 200 | 400,
  title: string,
  body: (nonce: string) => string,
): Response {
  const nonce = newNonce();
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.5rem 0}
input,button{padding:.6rem;font-size:1rem}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body(nonce)}
</main>
</body>
</html>
`;
  // The form posts to this origin only, and carries the page's origin in `Origin` (the
  // API's default no-referrer policy would send `Origin: null`), which the POST checks. Its
  // 302 leads to the app: that origin is on the form-action list too.
  c.header("Referrer-Policy", "same-origin");
  linkPageHeaders(c, nonce, ["'self'", ...c.var.config.redirectOrigins]);
  return c.html(html, status);
}
