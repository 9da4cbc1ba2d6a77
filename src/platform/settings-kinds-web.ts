// Kinds of setting that name things on the web: origins, URLs, host names, mail addresses.
import { ConfigError, HEADER_UNSAFE, optionalText, type Parser, text } from "./settings-kinds";

/** True when `value` is exactly what a browser sends in `Origin` for that site. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
  } catch {
    return false;
  }
}

/** A comma-separated list of exact origins (no path, no trailing slash), trimmed; with
 * `any`, `*` alone stands for every origin; with `empty`, an empty value is undefined
 * (the setting then takes a value derived from others). */
export function origins(options: { any: true }): Parser<"*" | string[]>;
export function origins(options: { empty: true }): Parser<string[] | undefined>;
export function origins(options?: { any?: false }): Parser<string[]>;
export function origins({ any = false, empty = false } = {}): Parser<"*" | string[] | undefined> {
  return (raw, name) => {
    const value = text(raw);
    if (any && value === "*") return "*";
    if (empty && value === "") return undefined;
    const list = value
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean);
    if (list.length === 0) {
      throw new ConfigError(`${name} is empty: use ${any ? '"*" or ' : ""}a comma-separated list of origins`);
    }
    for (const origin of list) {
      if (!isOrigin(origin)) {
        throw new ConfigError(
          `${name} entry "${origin}" is not an origin like https://app.example.com (no path, no trailing slash)`,
        );
      }
    }
    return list;
  };
}

/** An http(s) base URL without query, fragment or credentials, returned without a trailing
 * slash; undefined when empty. Plain http only on a loopback host, or on any host with `http`. */
export function baseUrl({ http = false } = {}): Parser<string | undefined> {
  return (raw, name) => {
    const value = optionalText(raw);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`${name} "${value}" is not a URL like https://auth.example.com`);
    }
    const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    const secure = url.protocol === "https:" || (url.protocol === "http:" && (http || loopback));
    if (!secure || url.search || url.hash || url.username || url.password) {
      throw new ConfigError(`${name} "${value}" must be an https URL with no query, fragment or credentials`);
    }
    return url.href.replace(/\/+$/, "");
  };
}

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const HOST_NAME = new RegExp(`^(?=.{1,253}$)(${LABEL}\\.)*${LABEL}$`);
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);

/** A host name (no scheme, port, path or leading dot), lowercased; undefined when empty. */
export function hostName(): Parser<string | undefined> {
  return (raw, name) => {
    const domain = optionalText(raw)?.toLowerCase();
    if (domain === undefined) return undefined;
    if (!HOST_NAME.test(domain)) {
      throw new ConfigError(
        `${name} "${domain}" must be a host name like example.com (no scheme, port or dot in front)`,
      );
    }
    return domain;
  };
}

/** A domain, lowercased: a host name that is not an IP address (a WebAuthn RP ID). */
export function domain(): Parser<string> {
  return (raw, name) => {
    const value = text(raw);
    const lower = value.toLowerCase();
    if (!DOMAIN.test(lower) || /^[0-9.]+$/.test(lower)) {
      throw new ConfigError(`${name} "${value}" must be a domain such as example.com (not a URL or an IP address)`);
    }
    return lower;
  };
}

const ADDRESS = /^[^\s@<>"(),;:\\[\]]+@[^\s@<>"(),;:\\[\]]+\.[^\s@<>"(),;:\\[\]]+$/;

/** A mail sender, `no-reply@acme.dev` or `Acme <no-reply@acme.dev>`; undefined when empty. */
export function mailbox(): Parser<{ email: string; name?: string } | undefined> {
  return (raw, name) => {
    const value = optionalText(raw);
    if (value === undefined) return undefined;
    if (HEADER_UNSAFE.test(value)) throw new ConfigError(`${name} must be on one line`);
    const match = /^(?:"?([^"<>]*?)"?\s*)?<([^<>]+)>$/.exec(value);
    const email = (match ? match[2] : value)?.trim() ?? "";
    const display = match?.[1]?.trim() || undefined;
    if (!ADDRESS.test(email)) {
      throw new ConfigError(`${name} "${value}" is not an address like "Acme <no-reply@acme.dev>"`);
    }
    return display ? { email, name: display } : { email };
  };
}

/** An SMTP server as `SMTP_URL` names it: `smtps://` is TLS from the first byte (465),
 * `smtp://` upgrades with STARTTLS when the server offers it (587). */
export type SmtpServer = {
  host: string;
  port: number;
  secure: boolean;
  credentials: { username: string; password: string } | undefined;
};

/** `smtp://user:pass@host:587` (STARTTLS) or `smtps://user:pass@host:465`; undefined when empty. */
export function smtpUrl(): Parser<SmtpServer | undefined> {
  return (raw, name) => {
    const value = optionalText(raw);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`${name} is not a URL like smtps://user:pass@smtp.example.com:465`);
    }
    const secure = url.protocol === "smtps:";
    if ((!secure && url.protocol !== "smtp:") || url.hostname === "") {
      throw new ConfigError(`${name} must start with smtp:// or smtps:// and name a host`);
    }
    const username = decodeURIComponent(url.username);
    return {
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      credentials: username ? { username, password: decodeURIComponent(url.password) } : undefined,
    };
  };
}
