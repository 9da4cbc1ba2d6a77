// Drives a social sign-in the way a browser does, with fetch (redirect: "manual") and a
// cookie jar: the API's start, the provider (oauth2-mock-server redirects at once;
// oidc-provider shows its login and consent forms, filled in here), the callback.

/** A cookie jar for one "browser": remembers Set-Cookie, sends Cookie. */
export class Jar {
  cookies = new Map<string, string>();
  store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      const gone = attributes.some((a) => /^\s*max-age=0\b/i.test(a) || /expires=thu, 01 jan 1970/i.test(a));
      if (gone || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  async fetch(url: string | URL, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    this.store(res);
    return res;
  }
}

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** The forms of an HTML page: action, and the name/value of each input. */
export function formsOf(html: string) {
  const attr = (name: string, s: string) => decode(new RegExp(`\\b${name}="([^"]*)"`, "i").exec(s)?.[1] ?? "");
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => ({
    action: attr("action", m[1] ?? ""),
    inputs: Object.fromEntries(
      [...(m[2] ?? "").matchAll(/<input\b([^>]*)>/gi)].map((i) => [
        attr("name", i[1] ?? ""),
        attr("value", i[1] ?? ""),
      ]),
    ) as Record<string, string>,
  }));
}

/**
 * Follows the provider from `url` until it sends the browser back to another origin:
 * returns that URL (a GET callback) or, for a form_post, its action and fields. Fills
 * oidc-provider's login form with `login` (any password) and submits consent.
 */
export async function throughProvider(jar: Jar, url: string, login = "ada") {
  let at = new URL(url);
  const origin = at.origin;
  let res = await jar.fetch(at);
  for (let step = 0; step < 20; step++) {
    if (res.status >= 300 && res.status < 400) {
      at = new URL(res.headers.get("location") ?? "", at);
      if (at.origin !== origin) return { url: at, form: undefined };
      res = await jar.fetch(at);
      continue;
    }
    const html = await res.text();
    const [form] = formsOf(html);
    if (res.status !== 200 || !form) throw new Error(`the provider answered ${res.status}: ${html.slice(0, 300)}`);
    const action = new URL(form.action, at);
    if (action.origin !== origin) return { url: action, form: new URLSearchParams(form.inputs) };
    const body = new URLSearchParams(form.inputs);
    if (form.inputs.prompt === "login") {
      body.set("login", login);
      body.set("password", "any");
    }
    at = action;
    res = await jar.fetch(action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
  }
  throw new Error("the provider never sent the browser back");
}

/** The claims of a JWT, unchecked (the test reads what the API put there). */
export function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}
