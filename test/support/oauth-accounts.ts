// Accounts and clients for the OAuth provider's black-box tests, made through the API as a
// person and an admin would: POST /register, TOTP enrolment, `npm run admin:grant`, and
// POST /admin/oauth/clients.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { freshTotp, type Person } from "./oauth-browser";

export type Account = Person & { id: string; token: string; refresh_token: string };

async function json(res: Response, expected: number, what: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${what}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** A fresh account (random email, one password), signed in: its API token pair. */
export async function registered(base: string, name = "ada"): Promise<Account> {
  const email = `${name}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = "correct horse battery staple";
  const res = await fetch(`${base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ firstName: name, lastName: "Test", email, password }),
  });
  const body = await json(res, 201, "POST /register");
  return { id: String(body.id), email, password, token: String(body.token), refresh_token: String(body.refresh_token) };
}

/** `account` with TOTP enrolled and confirmed: its secret is kept on it. */
export async function withTotp(base: string, account: Account): Promise<Account> {
  const auth = { authorization: `Bearer ${account.token}`, "content-type": "application/json" };
  const enrol = await json(
    await fetch(`${base}/me/mfa/totp`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ password: account.password }),
    }),
    200,
    "POST /me/mfa/totp",
  );
  const secret = String(enrol.secret);
  await json(
    await fetch(`${base}/me/mfa/totp/confirm`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ code: await freshTotp(secret) }),
    }),
    200,
    "POST /me/mfa/totp/confirm",
  );
  return { ...account, totpSecret: secret };
}

/** An admin of the server whose local D1 is `dir` (`npm run admin:grant -- --persist-to`). */
export async function admin(base: string, dir: string): Promise<Account> {
  const account = await registered(base, "root");
  await promisify(execFile)("npm", ["run", "-s", "admin:grant", "--", account.email, "--local", "--persist-to", dir]);
  return account;
}

export type RegisteredClient = { client_id: string; client_secret?: string; redirect_uri: string };

/** A client registered by `adminToken` with POST /admin/oauth/clients. */
export async function adminClient(
  base: string,
  adminToken: string,
  input: {
    type: "public" | "confidential";
    redirect_uris?: string[];
    name?: string;
    grant_types?: string[];
    scopes?: string[];
    first_party?: boolean;
  },
): Promise<RegisteredClient> {
  const redirect_uris = input.redirect_uris ?? [`https://client.example/cb/${crypto.randomUUID().slice(0, 8)}`];
  const res = await fetch(`${base}/admin/oauth/clients`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: input.name ?? "Test client", ...input, redirect_uris }),
  });
  const body = await json(res, 201, "POST /admin/oauth/clients");
  return {
    client_id: String(body.client_id),
    client_secret: typeof body.client_secret === "string" ? body.client_secret : undefined,
    redirect_uri: redirect_uris[0] ?? "",
  };
}
