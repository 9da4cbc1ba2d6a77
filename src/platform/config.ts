// The worker's configuration: every setting of src/platform/settings.ts read once per bindings
// object, then the rules between settings, in one place, then the `Config` routes use.

import { type OAuthConfig, oauthConfig, oauthRules } from "./config-oauth";
import { type AsymmetricAlg, type PrivateJwk, privateKeys, type Signing, type SigningAlg } from "./config-signing";
import { readSocial, type SocialConfig, type SocialProvider, socialConfig } from "./config-social";
import {
  BCRYPT_COST_IN_TESTS,
  type RawEnv,
  SETTINGS,
  type SettingName,
  type SettingValue,
  URL_IN_DEV,
} from "./settings";
import { ConfigError } from "./settings-kinds";
import type { SmtpServer } from "./settings-kinds-web";
import { type Outcomes, readSettings, readWith } from "./settings-read";

export type { AsymmetricAlg, OAuthConfig, PrivateJwk, Signing, SigningAlg, SmtpServer, SocialConfig, SocialProvider };
export { ConfigError };

/** How failed logins lock an email: the `after`-th failure in a row locks it for
 * `baseSeconds`, each further one for twice as long as the last, at most `maxSeconds`. */
export type LockoutPolicy = { after: number; baseSeconds: number; maxSeconds: number };

/** Validated configuration, read once per isolate from vars and secrets. */
export type Config = {
  signing: Signing;
  /** Written into `iss`/`aud` and required on verify when set. */
  issuer: string | undefined;
  audience: string | undefined;
  tokenTtlSeconds: number;
  refreshTtlSeconds: number;
  /** How long after its rotation a refresh token may be presented again without
   * counting as theft (`REFRESH_REUSE_INTERVAL`); 0 turns the allowance off. */
  refreshReuseSeconds: number;
  bcryptCost: number;
  allowQueryToken: boolean;
  lockout: LockoutPolicy;
  /** How long audit events are kept before housekeeping deletes them. */
  auditRetentionSeconds: number;
  /** `APP_NAME`: in mail subjects and bodies, the pages mailed links open, authenticator apps,
   * and the WebAuthn relying party's default name. */
  appName: string;
  /** `MFA_ENCRYPTION_KEY`: TOTP secrets are stored AES-GCM encrypted under a key derived from it. */
  mfaKey: string;
  webauthn: WebAuthnConfig;
  /** Mail delivery and the links in it (src/platform/mail/). */
  mail: MailConfig;
  /** Attributes of the refresh-token cookie (`refresh_transport: "cookie"`). */
  cookie: CookieSettings;
  /** The origins browsers may call from; the cookie's CSRF check accepts them too. */
  cors: Cors;
  /** `PUBLIC_URL`'s origin, when set: a same-origin deployment's own pages. */
  publicOrigin: string | undefined;
  /** `SOCIAL_REDIRECT_ORIGINS`, or its default: where a redirect-based sign-in may send
   * the browser back (src/platform/redirects.ts). */
  redirectOrigins: readonly string[];
  /** Social sign-in's providers (`SOCIAL_*`, src/platform/config-social.ts). */
  social: SocialConfig;
  /** The OAuth provider (`OAUTH_*`, src/platform/config-oauth.ts). */
  oauth: OAuthConfig;
  /** Every setting's accepted value by name (a family's as a record by id): a setting added
   * to src/platform/settings.ts is read here with no other edit. */
  settings: Settings;
};

/** Settings a rule may leave unread: their value is then undefined. */
type MaybeUnread = "TOKEN_KEY" | "JWT_PRIVATE_KEYS" | "MAIL_FROM" | "SMTP_URL" | "EMAIL_LOGIN_KEY";
export type Settings = {
  readonly [N in SettingName]: SettingValue<N> | (N extends MaybeUnread ? undefined : never);
};

/** `CORS_ORIGINS` and `CORS_CREDENTIALS`: `credentials` lets browsers send cookies and auth
 * headers with `credentials: "include"`, and comes with an explicit allowlist only. */
export type Cors = { origins: "*" | readonly string[]; credentials: boolean };

/** `COOKIE_SAMESITE`, `COOKIE_DOMAIN`, `COOKIE_PARTITIONED`. */
export type CookieSettings = { sameSite: SameSite; domain: string | undefined; partitioned: boolean };
export type SameSite = SettingValue<"COOKIE_SAMESITE">;

/** How mail goes out (`MAIL_TRANSPORT`), and what every mail and link is built from. */
export type MailConfig = {
  transport: SettingValue<"MAIL_TRANSPORT">;
  /** `MAIL_FROM`: the sender, checked to be one header-safe address. */
  from: { email: string; name?: string };
  /** `PUBLIC_URL`: the base of every link in every mail; never a request header. */
  publicUrl: string;
  /** `APP_URL`: when set, links open the app's own pages at the same paths instead of the API's. */
  appUrl: string | undefined;
  /** From the `SMTP_URL` secret, with `MAIL_TRANSPORT=smtp`. */
  smtp: SmtpServer | undefined;
  /** `MAIL_COOLDOWN`: at most one mail per address and purpose in this many seconds. */
  cooldownSeconds: number;
  /** `REQUIRE_EMAIL_VERIFICATION`: no tokens for an unverified address. */
  requireVerification: boolean;
};

/** The WebAuthn relying party: `rpId` is the domain passkeys are bound to, `origins`
 * the exact origins accepted in `clientDataJSON`. */
export type WebAuthnConfig = { rpId: string; rpName: string; origins: readonly string[] };

/** One parse of a bindings object: the CORS settings on their own (the CORS middleware runs
 * before the configuration is enforced, and keeps even a 500 readable by allowed origins;
 * undefined when they are refused), and the whole `Config` or every problem found. */
type Parsed = { cors: Cors | undefined; config: Config | ConfigError };

function parse(env: RawEnv): Parsed {
  const read: Outcomes<typeof SETTINGS> = readSettings(SETTINGS, env);
  const value = <N extends SettingName>(name: N): SettingValue<N> | undefined => {
    const outcome = read[name] as Outcomes<typeof SETTINGS>[SettingName];
    return outcome.ok ? (outcome.value as SettingValue<N>) : undefined;
  };
  /** Problems of the rules between settings. */
  const rules: string[] = [];
  /** Settings this configuration does not use: their own problems do not count. */
  const unused = new Set<MaybeUnread>();

  // ENVIRONMENT=test lets the suite hash at a low bcrypt cost (logged below whenever it
  // takes effect); dev and test take PUBLIC_URL and APP_URL as plain http on any host.
  const environment = value("ENVIRONMENT");
  const strictCost = read.BCRYPT_COST;
  if (environment === "test") read.BCRYPT_COST = readWith(SETTINGS, "BCRYPT_COST", env, BCRYPT_COST_IN_TESTS);
  if (environment === "test" || environment === "dev") {
    read.PUBLIC_URL = readWith(SETTINGS, "PUBLIC_URL", env, URL_IN_DEV);
    read.APP_URL = readWith(SETTINGS, "APP_URL", env, URL_IN_DEV);
  }

  // CORS_CREDENTIALS needs an explicit CORS_ORIGINS allowlist, never `*`.
  let cors: Cors | undefined;
  const [origins, credentials] = [value("CORS_ORIGINS"), value("CORS_CREDENTIALS")];
  if (origins !== undefined && credentials !== undefined) {
    if (credentials && origins === "*") {
      rules.push("CORS_CREDENTIALS=true needs an explicit CORS_ORIGINS allowlist, not *");
    } else {
      cors = { origins, credentials };
    }
  }
  // SameSite=None sends the cookie on requests from every site, so it is allowed only when
  // CORS lets exactly the listed origins in with credentials; the CSRF check then accepts
  // only those. (With refused CORS settings it is checked against none.)
  if (value("COOKIE_SAMESITE") === "None" && !(cors?.credentials && cors.origins !== "*")) {
    rules.push("COOKIE_SAMESITE=None needs CORS_CREDENTIALS=true and an explicit CORS_ORIGINS allowlist");
  }

  // JWT_ALG picks the key: TOKEN_KEY for HS256, otherwise JWT_PRIVATE_KEYS, checked for that
  // algorithm. (With a refused JWT_ALG neither is read.)
  const alg = value("JWT_ALG");
  if (alg !== "HS256") unused.add("TOKEN_KEY");
  if (alg === undefined || alg === "HS256") unused.add("JWT_PRIVATE_KEYS");
  let signing: Signing | undefined;
  const secret = value("TOKEN_KEY");
  if (alg === "HS256" && secret !== undefined) signing = { alg, secret };
  if (alg !== undefined && alg !== "HS256" && read.JWT_PRIVATE_KEYS.ok) {
    try {
      signing = { alg, keys: privateKeys(read.JWT_PRIVATE_KEYS.value, alg) };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      rules.push(...err.problems);
    }
  }

  // Mail on needs PUBLIC_URL (links never come from request headers) and MAIL_FROM; smtp
  // needs SMTP_URL, cloudflare the EMAIL binding; REQUIRE_EMAIL_VERIFICATION needs mail on.
  // MAIL_FROM is read only with mail on, SMTP_URL only with smtp.
  const transport = value("MAIL_TRANSPORT");
  const on = transport !== undefined && transport !== "none";
  if (!on) unused.add("MAIL_FROM");
  if (transport !== "smtp") unused.add("SMTP_URL");
  if (transport === "none" && value("REQUIRE_EMAIL_VERIFICATION")) {
    rules.push("REQUIRE_EMAIL_VERIFICATION=true needs MAIL_TRANSPORT smtp or cloudflare");
  }
  if (on && read.PUBLIC_URL.ok && read.PUBLIC_URL.value === undefined) {
    rules.push(`MAIL_TRANSPORT=${transport} needs PUBLIC_URL, the base of every link in a mail`);
  }
  if (transport === "cloudflare" && (typeof env.EMAIL !== "object" || env.EMAIL === null)) {
    rules.push("MAIL_TRANSPORT=cloudflare needs the send_email binding EMAIL in wrangler.toml");
  }
  if (on && read.MAIL_FROM.ok && read.MAIL_FROM.value === undefined) {
    rules.push('MAIL_FROM is not set, e.g. "Acme <no-reply@acme.dev>"');
  }
  if (transport === "smtp" && read.SMTP_URL.ok && read.SMTP_URL.value === undefined) {
    // Named first, like every problem about a secret: the deploy check leaves those to Cloudflare.
    rules.push("SMTP_URL is not set: MAIL_TRANSPORT=smtp needs it, e.g. smtps://user:pass@smtp.example.com:465");
  }

  // EMAIL_LOGIN mails its codes and links, so it needs mail on; its key is read only then.
  const emailLogin = value("EMAIL_LOGIN");
  if (emailLogin === undefined || emailLogin === "off") unused.add("EMAIL_LOGIN_KEY");
  else if (!on) rules.push(`EMAIL_LOGIN=${emailLogin} needs MAIL_TRANSPORT smtp or cloudflare`);
  // Social sign-in: each provider's settings, PUBLIC_URL with any provider on.
  let social: SocialConfig | undefined;
  const [providerIds, autoLink] = [value("SOCIAL_PROVIDERS"), value("SOCIAL_AUTO_LINK")];
  if (providerIds !== undefined && autoLink !== undefined) {
    const publicUrl = read.PUBLIC_URL.ok ? read.PUBLIC_URL.value : "(refused)";
    const outcome = socialConfig(
      { ...readSocial(value), SOCIAL_PROVIDERS: providerIds, SOCIAL_AUTO_LINK: autoLink },
      { publicUrl, environment: environment ?? "" },
    );
    if (Array.isArray(outcome)) rules.push(...outcome);
    else social = outcome;
  }
  // The OAuth provider: an asymmetric JWT_ALG and PUBLIC_URL (src/platform/config-oauth.ts).
  rules.push(...oauthRules(value, read.PUBLIC_URL));

  const problems = SETTINGS.flatMap(({ name }) => {
    const outcome = read[name];
    return outcome.ok || unused.has(name as MaybeUnread) ? [] : outcome.problems;
  });
  problems.push(...rules);
  // (With no problem, signing, cors and transport are set: the last three only narrow types.)
  if (problems.length > 0 || !signing || !cors || transport === undefined || !social) {
    return { cors, config: new ConfigError(problems) };
  }

  // With no problem left, every setting in use was accepted.
  const settings = Object.fromEntries(SETTINGS.map(({ name }) => [name, value(name)])) as Settings;
  const { APP_NAME: appName, PUBLIC_URL: publicUrl } = settings;
  const config: Config = {
    signing,
    issuer: settings.JWT_ISSUER,
    audience: settings.JWT_AUDIENCE,
    tokenTtlSeconds: settings.TOKEN_TTL,
    refreshTtlSeconds: settings.REFRESH_TTL,
    refreshReuseSeconds: settings.REFRESH_REUSE_INTERVAL,
    bcryptCost: settings.BCRYPT_COST,
    allowQueryToken: settings.ALLOW_QUERY_TOKEN,
    lockout: { after: settings.LOCKOUT_AFTER, baseSeconds: settings.LOCKOUT_BASE, maxSeconds: settings.LOCKOUT_MAX },
    auditRetentionSeconds: settings.AUDIT_RETENTION,
    appName,
    mfaKey: settings.MFA_ENCRYPTION_KEY,
    webauthn: {
      rpId: settings.WEBAUTHN_RP_ID,
      rpName: settings.WEBAUTHN_RP_NAME || appName,
      origins: settings.WEBAUTHN_ORIGINS,
    },
    mail: {
      transport,
      from: (on && settings.MAIL_FROM) || { email: "" },
      publicUrl: publicUrl ?? "",
      appUrl: settings.APP_URL,
      smtp: transport === "smtp" ? settings.SMTP_URL : undefined,
      cooldownSeconds: settings.MAIL_COOLDOWN,
      requireVerification: settings.REQUIRE_EMAIL_VERIFICATION,
    },
    cookie: {
      sameSite: settings.COOKIE_SAMESITE,
      domain: settings.COOKIE_DOMAIN,
      partitioned: settings.COOKIE_PARTITIONED,
    },
    cors,
    publicOrigin: publicUrl ? new URL(publicUrl).origin : undefined,
    redirectOrigins: settings.SOCIAL_REDIRECT_ORIGINS ?? [
      ...new Set([
        ...(cors.origins === "*" ? [] : cors.origins),
        ...(settings.APP_URL ? [new URL(settings.APP_URL).origin] : []),
      ]),
    ],
    social,
    oauth: oauthConfig(settings),
    settings,
  };
  if (!strictCost.ok) {
    console.warn(`BCRYPT_COST ${config.bcryptCost} accepted only because ENVIRONMENT=test; never deploy this`);
  }
  return { cors, config };
}

/** Parses and validates the environment; throws one `ConfigError` listing every bad setting. */
export function readConfig(env: RawEnv): Config {
  const { config } = parse(env);
  if (config instanceof ConfigError) throw config;
  return config;
}

const cache = new WeakMap<object, Parsed>();

/** The one parse of `env`, kept for the isolate's life (the bindings object lives as long). */
function parsed(env: object): Parsed {
  let entry = cache.get(env);
  if (!entry) {
    entry = parse(env as RawEnv);
    cache.set(env, entry);
  }
  return entry;
}

/** `readConfig` memoized per bindings object, so a request pays for parsing once per isolate. */
export function getConfig(env: object): Config {
  const { config } = parsed(env);
  if (config instanceof ConfigError) throw config;
  return config;
}

/** The CORS settings of the same parse, for the CORS middleware, which runs before the
 * configuration is enforced: refused CORS settings allow no origin at all. */
export function readCors(env: object): Cors {
  return parsed(env).cors ?? { origins: [], credentials: false };
}
