// The OAuth 2.1 / OpenID Connect provider's settings (docs/oauth-provider.md), declared like
// every other setting (src/platform/settings.ts lists them in place); src/platform/config.ts
// applies the rules between them (OAUTH_PROVIDER needs an asymmetric JWT_ALG and PUBLIC_URL).
import { bool, ConfigError, duration, type Parser, parser, text } from "./settings-kinds";
import type { Setting } from "./settings-read";

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Comma-separated resource indicators (RFC 8707 §2: an absolute URI without a fragment),
 * kept exactly as written: a request's `resource` must equal one of them character for
 * character (a trailing slash counts). */
export function resourceUris(): Parser<string[]> {
  return parser((raw, name) => {
    const value = text(raw);
    if (value === "") return [];
    return value.split(",").map((entry) => {
      const uri = entry.trim();
      let url: URL | undefined;
      try {
        url = new URL(uri);
      } catch {}
      if (!url || uri.includes("#") || !/^[a-z][a-z0-9+.-]*:/i.test(uri) || /\s/.test(uri)) {
        throw new ConfigError(`${name} entry "${uri}" must be an absolute URI without a fragment (RFC 8707)`);
      }
      return uri;
    });
  });
}

/** Scope tokens (RFC 6749 §3.3), separated by commas or spaces. */
export function scopeList(): Parser<string[]> {
  return parser((raw, name) => {
    const list = text(raw)
      .split(/[\s,]+/)
      .filter((scope) => scope !== "");
    for (const scope of list) {
      if (!SCOPE_TOKEN.test(scope))
        throw new ConfigError(`${name} entry "${scope}" is not a scope token (RFC 6749 §3.3)`);
    }
    return [...new Set(list)];
  });
}

export const OAUTH_SETTINGS = [
  {
    name: "OAUTH_PROVIDER",
    kind: "var",
    parse: bool(),
    default: "false",
    doc: "`true` makes this API an OAuth 2.1 + OpenID Connect provider (docs/oauth-provider.md): `/oauth/*` and the two discovery documents. Needs `JWT_ALG` ES256, EdDSA or RS256 (id_tokens verify against the JWKS) and `PUBLIC_URL`, the issuer",
  },
  {
    name: "OAUTH_RESOURCES",
    kind: "var",
    parse: resourceUris(),
    default: "",
    doc: "Comma-separated resource indicators (RFC 8707: absolute URIs, e.g. an MCP server's `https://mcp.example.com/mcp`) access tokens may be issued for; a request's `resource` must equal one exactly (a trailing slash counts), else `invalid_target`. Empty: none, tokens are for the issuer",
  },
  {
    name: "OAUTH_SCOPES",
    kind: "var",
    parse: scopeList(),
    default: "",
    doc: "Extra scopes your resource servers understand (comma- or space-separated), besides `openid`, `profile`, `email` and `offline_access`",
  },
  {
    name: "OAUTH_DYNAMIC_REGISTRATION",
    kind: "var",
    parse: bool(),
    default: "false",
    doc: "`true` opens `POST /oauth/register` (RFC 7591 dynamic client registration, per-IP limited; unused dynamic clients are deleted after 30 days)",
  },
  {
    name: "OAUTH_CLIENT_METADATA_DOCUMENTS",
    kind: "var",
    parse: bool(),
    default: "true",
    doc: "`true`: a `client_id` that is an `https://` URL of a client ID metadata document is accepted (fetched with a 5 s timeout, at most 5 KiB, no redirects, never a private address; `http://localhost` and `127.0.0.1` too when `ENVIRONMENT` is `dev` or `test`). Only read with `OAUTH_PROVIDER=true`",
  },
  {
    name: "OAUTH_CODE_TTL",
    kind: "var",
    parse: duration({ min: "10s", max: "10m" }),
    default: "60s",
    doc: "How long an authorization code works ({bounds}); it works once",
  },
  {
    name: "OAUTH_ACCESS_TTL",
    kind: "var",
    parse: duration({ min: "1m", max: "24h" }),
    default: "1h",
    doc: "Lifetime of OAuth access tokens (RFC 9068 JWTs), {bounds}. Refresh tokens use `REFRESH_TTL` and `REFRESH_REUSE_INTERVAL`",
  },
] as const satisfies readonly Setting[];
