// Social sign-in's settings (docs/social-login.md), declared like every other setting
// (src/platform/settings.ts lists them in place); src/platform/config-social.ts applies the
// rules between them.
import { ids, oneOf, optional } from "./settings-kinds";
import type { Setting } from "./settings-read";

export const SOCIAL_SETTINGS = [
  {
    name: "SOCIAL_PROVIDERS",
    kind: "var",
    parse: ids({ digitFirst: true }),
    default: "",
    doc: "Social sign-in (docs/social-login.md): comma-separated provider ids, empty for none. Presets: `google`, `microsoft`, `apple`, `github`; any other id (lowercase letters and digits, at most 32) is a generic OpenID Connect provider configured by `SOCIAL_<ID>_ISSUER`. With any provider on, `PUBLIC_URL` is required (the callback is `<PUBLIC_URL>/login/social/<id>/callback`). `npm run dev` enables its Local IdP as `local` unless this is set",
  },
  {
    name: "SOCIAL_<ID>_ISSUER",
    kind: "var",
    each: "SOCIAL_PROVIDERS",
    parse: optional(),
    default: "",
    doc: "A generic OpenID Connect provider's issuer, exactly as its discovery document (`<issuer>/.well-known/openid-configuration`) names it; required for ids that are not presets, not set for presets. `https://`, except `http://localhost:<port>` and `http://127.0.0.1:<port>` when `ENVIRONMENT` is `dev` or `test`",
  },
  {
    name: "SOCIAL_<ID>_CLIENT_ID",
    kind: "var",
    each: "SOCIAL_PROVIDERS",
    parse: optional(),
    default: "",
    doc: "The client id the provider gave this app; required",
  },
  {
    name: "SOCIAL_<ID>_CLIENT_SECRET",
    kind: "secret",
    each: "SOCIAL_PROVIDERS",
    parse: optional(),
    doc: "The client secret the provider gave this app (`client_secret_basic` or `client_secret_post`, as its metadata allows); empty for a public client that uses PKCE alone. Apple's is made from `SOCIAL_APPLE_PRIVATE_KEY` instead",
  },
  {
    name: "SOCIAL_<ID>_NAME",
    kind: "var",
    each: "SOCIAL_PROVIDERS",
    parse: optional(),
    default: "",
    doc: "The name `GET /login/social` lists; empty: the preset's (`Google`, `Microsoft`, `Apple`, `GitHub`) or the id",
  },
  {
    name: "SOCIAL_<ID>_SCOPES",
    kind: "var",
    each: "SOCIAL_PROVIDERS",
    parse: optional(),
    default: "",
    doc: "Space-separated scopes to ask for; empty: `openid email profile` (GitHub: `read:user user:email`; Apple: `openid email name`)",
  },
  {
    name: "SOCIAL_AUTO_LINK",
    kind: "var",
    parse: oneOf(["verified", "off"]),
    default: "verified",
    doc: "`verified`: a first social sign-in whose email matches an account links to it and signs in only when the provider says `email_verified: true` and the account's address is verified; otherwise (and always with `off`) the callback answers `error=account_exists` and the person links from their settings",
  },
  {
    name: "SOCIAL_APPLE_KEY_ID",
    kind: "var",
    parse: optional(),
    default: "",
    doc: "With the `apple` provider: the Key ID of the Sign in with Apple private key (the `kid` of the client-secret JWT)",
  },
  {
    name: "SOCIAL_APPLE_TEAM_ID",
    kind: "var",
    parse: optional(),
    default: "",
    doc: "With the `apple` provider: the Apple developer Team ID (the `iss` of the client-secret JWT)",
  },
  {
    name: "SOCIAL_APPLE_PRIVATE_KEY",
    kind: "secret",
    parse: optional(),
    doc: "With the `apple` provider: the `.p8` private key (PKCS#8 PEM) the client-secret JWT (ES256) is signed with",
  },
] as const satisfies readonly Setting[];
