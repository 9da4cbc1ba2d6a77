// Social sign-in's settings (SOCIAL_*) turned into the providers the routes use, with the
// rules between them: each refused setting named, so a misconfiguration fails closed at
// start like every other (src/platform/config.ts). docs/social-login.md is the guide.
import type { SettingName, SettingValue } from "./settings";

/** The presets: their issuer (or base URL) and quirks are built in. */
export const SOCIAL_PRESETS = {
  google: { name: "Google", issuer: "https://accounts.google.com", scopes: "openid email profile" },
  microsoft: {
    name: "Microsoft",
    // Multi-tenant: discovery at /common names the issuer `.../{tenantid}/v2.0`; each
    // id_token's `iss` carries its tenant (`tid`).
    issuer: "https://login.microsoftonline.com/common/v2.0",
    scopes: "openid email profile",
  },
  apple: { name: "Apple", issuer: "https://appleid.apple.com", scopes: "openid email name" },
  github: { name: "GitHub", issuer: "https://github.com", scopes: "read:user user:email" },
} as const;
export type SocialPreset = keyof typeof SOCIAL_PRESETS;

/** How the callback learns who signed in. */
export type SocialProtocol =
  /** OpenID Connect: discovery, an id_token checked against the issuer's JWKS. */
  | "oidc"
  /** Microsoft's multi-tenant issuer: the same, with `iss` = the template with `tid`. */
  | "oidc-multitenant"
  /** GitHub: OAuth 2.0 and its REST API (`/user`, `/user/emails`). */
  | "github";

/** One provider of `SOCIAL_PROVIDERS`, as the routes use it. */
export type SocialProvider = {
  id: string;
  /** `SOCIAL_<ID>_NAME`, or the preset's name, or the id. */
  name: string;
  protocol: SocialProtocol;
  /** Where discovery starts (OIDC) or the base of the endpoints (GitHub); for presets the
   * built-in one, or in dev/test a loopback stand-in given as `SOCIAL_<ID>_ISSUER`. */
  issuer: string;
  clientId: string;
  /** Empty: a public client (PKCE alone). Apple's is made from `apple` instead. */
  clientSecret: string;
  scopes: string;
  /** Apple answers with `response_mode=form_post`. */
  formPost: boolean;
  /** Apple's client-secret JWT: `SOCIAL_APPLE_KEY_ID`, `_TEAM_ID`, `_PRIVATE_KEY`. */
  apple?: { keyId: string; teamId: string; privateKey: string };
  /** An http:// loopback issuer (dev and test only): oauth4webapi must be told to allow it. */
  insecure: boolean;
};

export type SocialConfig = {
  providers: readonly SocialProvider[];
  /** `SOCIAL_AUTO_LINK`. */
  autoLink: "verified" | "off";
};

type PerId = Record<string, string | undefined>;
type SocialSettings = {
  SOCIAL_PROVIDERS: string[];
  SOCIAL_AUTO_LINK: "verified" | "off";
  "SOCIAL_<ID>_ISSUER": PerId;
  "SOCIAL_<ID>_CLIENT_ID": PerId;
  "SOCIAL_<ID>_CLIENT_SECRET": PerId;
  "SOCIAL_<ID>_NAME": PerId;
  "SOCIAL_<ID>_SCOPES": PerId;
  SOCIAL_APPLE_KEY_ID: string | undefined;
  SOCIAL_APPLE_TEAM_ID: string | undefined;
  SOCIAL_APPLE_PRIVATE_KEY: string | undefined;
};

/** The per-provider settings as `value` (config.ts's reader) gives them; a refused
 * family reads as empty (its own problem is reported). */
export function readSocial(
  value: <N extends SettingName>(name: N) => SettingValue<N> | undefined,
): Omit<SocialSettings, "SOCIAL_PROVIDERS" | "SOCIAL_AUTO_LINK"> {
  return {
    "SOCIAL_<ID>_ISSUER": value("SOCIAL_<ID>_ISSUER") ?? {},
    "SOCIAL_<ID>_CLIENT_ID": value("SOCIAL_<ID>_CLIENT_ID") ?? {},
    "SOCIAL_<ID>_CLIENT_SECRET": value("SOCIAL_<ID>_CLIENT_SECRET") ?? {},
    "SOCIAL_<ID>_NAME": value("SOCIAL_<ID>_NAME") ?? {},
    "SOCIAL_<ID>_SCOPES": value("SOCIAL_<ID>_SCOPES") ?? {},
    SOCIAL_APPLE_KEY_ID: value("SOCIAL_APPLE_KEY_ID"),
    SOCIAL_APPLE_TEAM_ID: value("SOCIAL_APPLE_TEAM_ID"),
    SOCIAL_APPLE_PRIVATE_KEY: value("SOCIAL_APPLE_PRIVATE_KEY"),
  };
}

const LOOPBACK = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?(\/|$)/;

/** Whether `issuer` may be used: https, or (dev and test only) http on loopback. */
function issuerProblem(name: string, issuer: string, devOrTest: boolean): string | undefined {
  if (!URL.canParse(issuer)) return `${name} is not a URL: "${issuer}"`;
  const url = new URL(issuer);
  if (url.search || url.hash || url.username || url.password) {
    return `${name} must be an issuer URL without query, fragment or credentials`;
  }
  if (url.protocol === "https:") return undefined;
  if (devOrTest && LOOPBACK.test(issuer)) return undefined;
  return devOrTest
    ? `${name} must be https:// (or http://localhost:<port>, http://127.0.0.1:<port>)`
    : `${name} must be https:// (http:// loopback issuers only with ENVIRONMENT dev or test)`;
}

/** The providers of `settings`, or the problems that refuse the configuration. */
export function socialConfig(
  settings: SocialSettings,
  { publicUrl, environment }: { publicUrl: string | undefined; environment: string },
): SocialConfig | string[] {
  const problems: string[] = [];
  const devOrTest = environment === "dev" || environment === "test";
  const providers: SocialProvider[] = [];
  if (settings.SOCIAL_PROVIDERS.length > 0 && !publicUrl) {
    problems.push(
      "SOCIAL_PROVIDERS needs PUBLIC_URL: each callback is <PUBLIC_URL>/login/social/<id>/callback, never guessed from the request",
    );
  }
  for (const id of settings.SOCIAL_PROVIDERS) {
    const upper = id.toUpperCase();
    const preset = id in SOCIAL_PRESETS ? SOCIAL_PRESETS[id as SocialPreset] : undefined;
    const given = settings["SOCIAL_<ID>_ISSUER"][id];
    const issuerName = `SOCIAL_${upper}_ISSUER`;
    let issuer: string | undefined = preset?.issuer;
    if (given !== undefined) {
      // A preset's endpoints are built in; only dev and test may point one at a loopback
      // stand-in (the suite's stand-ins serve the presets' shapes).
      if (preset && !(devOrTest && LOOPBACK.test(given))) {
        problems.push(`${issuerName} must not be set: ${id} is a preset with its issuer built in`);
      } else {
        issuer = given;
      }
    }
    if (issuer === undefined) {
      problems.push(`${issuerName} is not set: ${id} is not a preset, so it needs its OpenID Connect issuer`);
      continue;
    }
    const problem = issuerProblem(issuerName, issuer, devOrTest);
    if (problem) problems.push(problem);
    const clientId = settings["SOCIAL_<ID>_CLIENT_ID"][id];
    if (!clientId) problems.push(`SOCIAL_${upper}_CLIENT_ID is not set: the client id ${id} gave this app`);
    let apple: SocialProvider["apple"];
    if (id === "apple") {
      const {
        SOCIAL_APPLE_KEY_ID: keyId,
        SOCIAL_APPLE_TEAM_ID: teamId,
        SOCIAL_APPLE_PRIVATE_KEY: privateKey,
      } = settings;
      if (!keyId) problems.push("SOCIAL_APPLE_KEY_ID is not set: the apple provider signs its client secret with it");
      if (!teamId) problems.push("SOCIAL_APPLE_TEAM_ID is not set: the apple provider's client secret names it");
      if (!privateKey?.includes("BEGIN PRIVATE KEY")) {
        problems.push("SOCIAL_APPLE_PRIVATE_KEY is not set to the .p8 key (PKCS#8 PEM, -----BEGIN PRIVATE KEY-----)");
      }
      apple = { keyId: keyId ?? "", teamId: teamId ?? "", privateKey: privateKey ?? "" };
    }
    providers.push({
      id,
      name: settings["SOCIAL_<ID>_NAME"][id] || preset?.name || id,
      protocol: id === "github" ? "github" : id === "microsoft" ? "oidc-multitenant" : "oidc",
      issuer,
      clientId: clientId ?? "",
      clientSecret: settings["SOCIAL_<ID>_CLIENT_SECRET"][id] ?? "",
      scopes: settings["SOCIAL_<ID>_SCOPES"][id] || preset?.scopes || "openid email profile",
      formPost: id === "apple",
      ...(apple && { apple }),
      insecure: issuer.startsWith("http://"),
    });
  }
  return problems.length > 0 ? problems : { providers, autoLink: settings.SOCIAL_AUTO_LINK };
}
