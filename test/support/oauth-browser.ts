// A headless "browser" for the provider's server-rendered pages (GET /oauth/authorize, its
// login, second-factor and consent forms), driven over plain HTTP: redirects followed by
// hand (each Location checked), a cookie jar, forms parsed for their action and hidden inputs,
// and the headers a browser sends on a navigation or a form post (Origin, Sec-Fetch-*). It
// stops at the first redirect that leaves the API's origin: the client's redirect_uri with
// `code` (or `error`), `state` and `iss`.
import * as OTPAuth from "otpauth";

/** One `<form>` of a page: where it posts, its inputs' names and values (hidden ones
 * included), and its submit buttons' name/value pairs. */
export type Form = {
  action: string;
  method: string;
  inputs: Record<string, string>;
  buttons: { name: string; value: string }[];
};

/** A page the browser stopped at (HTML, any status). */
export type Page = { url: URL; status: number; html: string; forms: Form[] };

/** Who signs in, and what they answer. */
export type Person = {
  email: string;
  password: string;
  /** Base32 TOTP secret: asked for when the page shows an input named `code`. */
  totpSecret?: string;
  /** The consent button pressed; default `allow`. */
  decision?: "allow" | "deny";
};

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'", apos: "'" };

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27|apos);/g, (_, name: string) => ENTITIES[name] ?? "");
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of tag.matchAll(/([a-zA-Z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    const [, name = "", dq, sq, bare] = match;
    out[name.toLowerCase()] = unescapeHtml(dq ?? sq ?? bare ?? "");
  }
  return out;
}

/** The forms of an HTML page (regex-parsed: the provider's pages are our own, simple markup). */
export function parseForms(html: string, base: URL): Form[] {
  const forms: Form[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(match[1] ?? "");
    const body = match[2] ?? "";
    const inputs: Record<string, string> = {};
    const buttons: { name: string; value: string }[] = [];
    for (const input of body.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1] ?? "");
      if (!a.name) continue;
      if (a.type === "submit") buttons.push({ name: a.name, value: a.value ?? "" });
      else inputs[a.name] = a.value ?? "";
    }
    for (const button of body.matchAll(/<button\b([^>]*)>/gi)) {
      const a = attributes(button[1] ?? "");
      if (a.name && (a.type ?? "submit") === "submit") buttons.push({ name: a.name, value: a.value ?? "" });
    }
    forms.push({
      action: new URL(attrs.action || base.href, base).href,
      method: (attrs.method ?? "get").toLowerCase(),
      inputs,
      buttons,
    });
  }
  return forms;
}

/** A TOTP code for `secret` that was not used before in this process (the API refuses a
 * replayed code): waits for the next 30 s step when this one was spent. */
const spentSteps = new Map<string, number>();
export async function freshTotp(secret: string): Promise<string> {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
  let step = Math.floor(Date.now() / 30_000);
  if (spentSteps.get(secret) === step) {
    await new Promise((resolve) => setTimeout(resolve, (step + 1) * 30_000 - Date.now() + 50));
    step = Math.floor(Date.now() / 30_000);
  }
  spentSteps.set(secret, step);
  return totp.generate({ timestamp: step * 30_000 });
}

/** One browser profile: its cookies for the API's origin. */
export class OAuthBrowser {
  readonly origin: string;
  readonly cookies = new Map<string, string>();
  /** Every URL it requested, in order (for error messages and tests on the path taken). */
  readonly visited: string[] = [];

  constructor(apiBase: string) {
    this.origin = new URL(apiBase).origin;
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ") };
  }

  private keepCookies(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const at = pair.indexOf("=");
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a) || /^\s*expires\s*=.*1970/i.test(a));
      if (gone || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** One request as a browser sends it, no redirect followed. `from` is the page the
   * navigation or post comes from (its origin decides Sec-Fetch-Site). */
  async request(
    url: string | URL,
    {
      method = "GET",
      form,
      from,
      headers = {},
    }: { method?: string; form?: Record<string, string>; from?: URL; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const target = new URL(url);
    const sameOrigin = target.origin === this.origin;
    const site = !from ? "none" : from.origin === target.origin ? "same-origin" : "cross-site";
    const res = await fetch(target, {
      method,
      redirect: "manual",
      headers: {
        accept: "text/html,application/xhtml+xml",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) oauth-browser-test",
        "sec-fetch-mode": "navigate",
        "sec-fetch-dest": "document",
        "sec-fetch-site": site,
        ...(sameOrigin ? this.cookieHeader() : {}),
        ...(form ? { "content-type": "application/x-www-form-urlencoded", origin: from?.origin ?? "null" } : {}),
        ...headers,
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    this.visited.push(`${method} ${target.href} -> ${res.status}`);
    if (sameOrigin) this.keepCookies(res);
    return res;
  }

  /**
   * Navigates to `url` (from `from`, a page of another site by default: the client app) and
   * follows redirects within the API's origin. Resolves to the URL of the first redirect that
   * leaves it, or to the page it stopped on (any HTML answer).
   */
  async navigate(
    url: string | URL,
    init: { method?: string; form?: Record<string, string>; from?: URL } = {},
  ): Promise<{ left: URL } | { page: Page }> {
    let res = await this.request(url, { from: new URL("https://client.example/"), ...init });
    let at = new URL(url);
    for (let hops = 0; hops < 20; hops++) {
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        const next = new URL(location, at);
        if (next.origin !== this.origin) return { left: next };
        res = await this.request(next, { from: at });
        at = next;
        continue;
      }
      const html = await res.text();
      return { page: { url: at, status: res.status, html, forms: parseForms(html, at) } };
    }
    throw new Error(`more than 20 redirects:\n${this.visited.join("\n")}`);
  }

  /** Posts `form` (its inputs, plus `extra`, plus the pressed button) as the page would. */
  submit(page: Page, form: Form, extra: Record<string, string> = {}, button?: { name: string; value: string }) {
    const fields = { ...form.inputs, ...extra, ...(button ? { [button.name]: button.value } : {}) };
    return this.navigate(form.action, { method: "POST", form: fields, from: page.url });
  }

  /**
   * Runs an authorization request to its end as `person`: signs in (email and password,
   * then the TOTP code when a page asks for `code`), presses `decision` on the consent page,
   * and resolves to the URL the API finally redirects to outside its origin (the client's
   * redirect_uri with `code` or `error`). Throws with the page's text on anything else.
   */
  async authorize(url: string | URL, person?: Person): Promise<URL> {
    let step = await this.navigate(url);
    for (let pages = 0; pages < 6; pages++) {
      if ("left" in step) return step.left;
      const { page } = step;
      if (page.status >= 400) throw new Error(describePage(page, this.visited));
      const posts = page.forms.filter((f) => f.method === "post");
      const login = posts.find((f) => "password" in f.inputs);
      const second = posts.find((f) => "code" in f.inputs);
      const consent = posts.find((f) => f.buttons.some((b) => b.name === "decision"));
      if (login) {
        if (!person)
          throw new Error(`asked to sign in, with nobody to sign in as\n${describePage(page, this.visited)}`);
        step = await this.submit(page, login, { email: person.email, password: person.password });
      } else if (second) {
        if (!person?.totpSecret) throw new Error(`asked for a second factor\n${describePage(page, this.visited)}`);
        step = await this.submit(page, second, { code: await freshTotp(person.totpSecret) });
      } else if (consent) {
        const decision = person?.decision ?? "allow";
        const button = consent.buttons.find((b) => b.name === "decision" && b.value === decision);
        if (!button) throw new Error(`no decision=${decision} button\n${describePage(page, this.visited)}`);
        step = await this.submit(page, consent, {}, button);
      } else {
        throw new Error(`no login, second-factor or consent form\n${describePage(page, this.visited)}`);
      }
    }
    throw new Error(`no redirect out of ${this.origin} after six pages:\n${this.visited.join("\n")}`);
  }
}

/** A page as text for an error message: status, URL, forms and the visible text. */
export function describePage(page: Page, visited: string[] = []): string {
  const text = page.html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 600);
  return `${page.status} ${page.url.href}\nforms: ${JSON.stringify(page.forms)}\ntext: ${text}\n${visited.join("\n")}`;
}
