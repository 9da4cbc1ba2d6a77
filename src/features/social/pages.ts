import type { Context } from "hono";
import type { AppEnv } from "../../platform/env";
import { linkPageHeaders, newNonce } from "../../platform/http/security-headers";
import { escapeHtml } from "../../platform/mail/templates";

// The two pages social sign-in's callback may answer instead of a redirect.

/** Field a re-posted form_post carries, so a second arrival without the cookie stops. */
export const REPOSTED = "reposted";

function page(c: Context<AppEnv>, status: 200 | 400, title: string, body: string, nonce = newNonce()): Response {
  const appName = escapeHtml(c.var.config.appName);
  // The re-post's answer is a 302 to the app: browsers hold that redirect to this list too.
  linkPageHeaders(c, nonce, ["'self'", ...c.var.config.redirectOrigins]);
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${appName}</title><link rel="icon" href="data:,"></head>
<body>
${body}
</body>
</html>
`;
  return c.html(html, status);
}

/** 400: a callback with no trusted `redirect_to` (its state unknown, expired or used, or
 * its cookie missing): nothing to redirect to, so a page says so. */
export function untrustedCallbackPage(c: Context<AppEnv>): Response {
  return page(
    c,
    400,
    "Sign-in failed",
    "<main><h1>This sign-in cannot continue</h1><p>It expired, was already used, or was started in another browser. Go back to the app and sign in again.</p></main>",
  );
}

/**
 * 200: a `form_post` callback (Apple's) that arrived cross-site without the SameSite=Lax
 * cookie: a same-origin page that posts the same fields to the same URL, so the browser
 * sends the cookie this time. No SameSite=None cookie is ever needed. The fields are
 * escaped into hidden inputs; the page runs one nonce'd line that submits the form.
 */
export function repostPage(c: Context<AppEnv>, action: string, fields: URLSearchParams): Response {
  const nonce = newNonce();
  const inputs = [...fields, [REPOSTED, "1"]]
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name ?? "")}" value="${escapeHtml(value ?? "")}">`)
    .join("\n");
  return page(
    c,
    200,
    "Signing in",
    `<form id="repost" method="post" action="${escapeHtml(action)}">
${inputs}
<noscript><button type="submit">Continue</button></noscript>
</form>
<script nonce="${nonce}">document.getElementById("repost").submit();</script>`,
    nonce,
  );
}
