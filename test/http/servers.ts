import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWK } from "jose";
import type { TestProject } from "vitest/node";
import { freePort, type Running, startDev, stopAll } from "../support/processes";
import { appleKey } from "../support/provider-stand-ins";

/** The servers every black-box test can reach, by what makes them different. */
export type Servers = {
  defaults: string;
  /** The local D1 of `defaults`, for scripts such as `npm run admin:grant -- --persist-to`. */
  defaultsDir: string;
  /** The REST API of the mail catcher `npm run dev` started beside `defaults`. */
  defaultsMail: string;
  /** CORS_ORIGINS (and so the redirect allowlist) set to ALLOWED_ORIGINS, EMAIL_LOGIN on. */
  allowlist: string;
  /** The REST API of the mail catcher beside `allowlist`. */
  allowlistMail: string;
  misconfigured: string;
  /** Signing with ES256 and a key made by `npm run keys:generate`. */
  es256: string;
  /** Access tokens that live 5 s, for the client's expiry and refresh tests. */
  shortTokens: string;
  /** Social sign-in: `npm run dev`'s Local IdP as `local`, and `mock` at `mockIssuer`
   * (oauth2-mock-server, which test/http/social.test.ts starts there), auto-link on;
   * redirects allowed to ALLOWED_ORIGINS. */
  social: string;
  /** The local D1 of `social`, for `npm run admin:grant -- --persist-to`. */
  socialDir: string;
  /** The issuer `social` and `allowlist` configure as provider `mock`: nothing listens
   * there until a test file starts the mock on it. */
  mockIssuer: string;
  /** Where `social`'s presets github, apple and microsoft point (loopback stand-ins that
   * test/http/social-presets.test.ts starts there), and the public key of its Apple key. */
  standIns: { github: string; apple: string; microsoft: string; applePublicJwk: JWK };
  /** The OAuth provider on (ES256), with dynamic registration, scope `mcp`, two resources
   * (`oauthResources`: the MCP example's `/mcp` on `mcpPort`, where nothing listens until a
   * test starts it, and an https one), codes that live 10 s and no refresh reuse interval. */
  oauth: string;
  /** The local D1 of `oauth`, for `npm run admin:grant -- --persist-to`. */
  oauthDir: string;
  oauthResources: string[];
  mcpPort: number;
};

declare module "vitest" {
  export interface ProvidedContext {
    servers: Servers;
  }
}

export const ALLOWED_ORIGINS = ["http://localhost:5173", "https://app.example.com"];

type Started = { url: string; dir: string; mailApi: string };
const running: Running[] = [];
const dirs: string[] = [];

/** Starts the README's `npm run dev` on free ports with its own fresh local D1. */
async function start(flags: string[]): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-http-"));
  dirs.push(dir);
  const { url, mailApi } = await startDev(running, `npm run dev ${flags.join(" ")}`, dir, flags);
  return { url, dir, mailApi };
}

async function stop() {
  await stopAll(running);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

export default async function setup(project: TestProject) {
  try {
    const keys = execFileSync("npm", ["run", "-s", "keys:generate", "--", "--alg", "ES256"], {
      encoding: "utf8",
      // Its advice on stderr is for people, not for the test output.
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
    const mockIssuer = `http://127.0.0.1:${await freePort()}`;
    const mock = [
      ...["--var", `SOCIAL_MOCK_ISSUER:${mockIssuer}`, "--var", "SOCIAL_MOCK_CLIENT_ID:mockclient"],
      ...["--var", "SOCIAL_MOCK_NAME:Mock IdP", "--var", `CORS_ORIGINS:${ALLOWED_ORIGINS.join(",")}`],
    ];
    const [github, apple, microsoft] = [await freePort(), await freePort(), await freePort()];
    const standIns = {
      github: `http://127.0.0.1:${github}`,
      apple: `http://127.0.0.1:${apple}`,
      microsoft: `http://127.0.0.1:${microsoft}`,
    };
    const appleP8 = await appleKey();
    const vars = (pairs: Record<string, string>) => Object.entries(pairs).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    const presets = vars({
      SOCIAL_GITHUB_ISSUER: standIns.github,
      SOCIAL_GITHUB_CLIENT_ID: "gh-client",
      SOCIAL_GITHUB_CLIENT_SECRET: "gh-secret",
      SOCIAL_APPLE_ISSUER: standIns.apple,
      SOCIAL_APPLE_CLIENT_ID: "com.example.web",
      SOCIAL_APPLE_KEY_ID: "KEY123",
      SOCIAL_APPLE_TEAM_ID: "TEAM123",
      SOCIAL_APPLE_PRIVATE_KEY: appleP8.pem,
      SOCIAL_MICROSOFT_ISSUER: `${standIns.microsoft}/common/v2.0`,
      SOCIAL_MICROSOFT_CLIENT_ID: "ms-client",
      SOCIAL_MICROSOFT_CLIENT_SECRET: "ms-secret",
    });
    const mcpPort = await freePort();
    const oauthResources = [`http://127.0.0.1:${mcpPort}/mcp`, "https://api.example.com/v1"];
    const [defaults, allowlist, misconfigured, es256, shortTokens, social, oauth] = await Promise.all([
      start([]),
      // Auto-link off, with the mock provider only.
      start([
        "--no-local-idp",
        ...mock,
        ...["--var", "ALLOW_QUERY_TOKEN:true", "--var", "SOCIAL_PROVIDERS:mock", "--var", "SOCIAL_AUTO_LINK:off"],
        ...["--var", "EMAIL_LOGIN:both"],
      ]),
      start(["--no-local-idp", "--skip-config-check", "--var", "TOKEN_KEY:too-short"]),
      start(["--no-local-idp", "--var", "JWT_ALG:ES256", "--var", `JWT_PRIVATE_KEYS:${keys}`]),
      start(["--no-local-idp", "--var", "TOKEN_TTL:5s"]),
      start([...mock, ...presets, "--var", "SOCIAL_PROVIDERS:local,mock,github,apple,microsoft"]),
      start([
        "--no-local-idp",
        ...vars({ JWT_ALG: "ES256", JWT_PRIVATE_KEYS: keys, OAUTH_PROVIDER: "true", OAUTH_SCOPES: "mcp" }),
        ...vars({ OAUTH_RESOURCES: oauthResources.join(","), OAUTH_DYNAMIC_REGISTRATION: "true" }),
        ...vars({ OAUTH_CODE_TTL: "10s", REFRESH_REUSE_INTERVAL: "0s" }),
      ]),
    ]);
    project.provide("servers", {
      defaults: defaults.url,
      defaultsDir: defaults.dir,
      defaultsMail: defaults.mailApi,
      allowlist: allowlist.url,
      allowlistMail: allowlist.mailApi,
      misconfigured: misconfigured.url,
      es256: es256.url,
      shortTokens: shortTokens.url,
      social: social.url,
      socialDir: social.dir,
      mockIssuer,
      standIns: { ...standIns, applePublicJwk: appleP8.publicJwk },
      oauth: oauth.url,
      oauthDir: oauth.dir,
      oauthResources,
      mcpPort,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}
