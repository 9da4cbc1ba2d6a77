import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, inject } from "vitest";
import { app } from "../src/worker";
import { bearer, type Json, newUser, note, randomAddress } from "./helpers";
import { type CaughtMail, mailsTo, tokenIn } from "./support/mail-box";

// The mail flows against the real app with mail on, over real SMTP to the maildev that
// test/support/mail-setup.ts starts: shared by the tests of the mail routes and of what
// recovery retires.

const mailApi = inject("mailApi");
export const PUBLIC_URL = "https://auth.example.com";
const MAIL = {
  MAIL_TRANSPORT: "smtp",
  SMTP_URL: inject("smtpUrl"),
  MAIL_FROM: "Edge Auth <no-reply@edge-auth.test>",
  PUBLIC_URL,
  APP_NAME: "Edge <Auth> & Co",
  MAIL_COOLDOWN: "60s",
};
// One bindings object per setting, so each is parsed once, as in production.
export const withMail = { ...env, ...MAIL };

/** Each test its own client address, so the per-IP mail limit never joins tests up. */
export const clientIp = randomAddress;

/** Calls the app like the runtime does, with an execution context, and waits for what it
 * left running after the answer (the mails) before returning. */
export async function request(path: string, init: RequestInit, bindings: object = withMail): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.request(path, init, bindings, ctx);
  await waitOnExecutionContext(ctx);
  await note(init.method ?? "GET", path, res);
  return res;
}

export function post(path: string, body: unknown, options: { token?: string; ip?: string; bindings?: object } = {}) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "cf-connecting-ip": options.ip ?? clientIp(),
  };
  if (options.token) Object.assign(headers, bearer(options.token));
  return request(path, { method: "POST", headers, body: JSON.stringify(body) }, options.bindings);
}

export async function register(fields: Json = {}, bindings: object = withMail) {
  const input = newUser(fields);
  const res = await post("/register", input, { bindings });
  expect(res.status).toBe(201);
  const body = (await res.json()) as Json & { id: string; token: string; refresh_token: string };
  return { input, body, token: body.token };
}

export async function login(email: string, password: string, bindings: object = withMail) {
  return post("/login", { email, password }, { bindings });
}

/** Waits until `address` has `count` mails (maildev stores them just after the SMTP reply). */
export async function inbox(address: string, count = 1): Promise<CaughtMail[]> {
  for (let tries = 0; tries < 50; tries++) {
    const mails = await mailsTo(mailApi, address);
    if (mails.length >= count) return mails;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return mailsTo(mailApi, address);
}

/** Asserts `address` got exactly `count` mails, after giving a stray one time to arrive. */
export async function expectMailCount(address: string, count: number) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await mailsTo(mailApi, address)).toHaveLength(count);
}

export function linkToken(mail: CaughtMail | undefined, path: string): string {
  const token = tokenIn(mail?.text ?? "", path);
  if (!token) throw new Error(`no ${path} link in ${mail?.text}`);
  return token;
}

/** The token of the newest link to `path` mailed to `address`, once `count` such links
 * have arrived there (maildev stores a mail just after the SMTP reply). */
export async function newestLink(address: string, path: string, count = 1): Promise<string> {
  for (let tries = 0; tries < 50; tries++) {
    const tokens = (await mailsTo(mailApi, address)).flatMap((mail) => tokenIn(mail.text, path) ?? []);
    if (tokens.length >= count) return tokens.at(-1) as string;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${count} ${path} links reached ${address}`);
}

export async function me(token: string, bindings: object = withMail) {
  return request("/me", { headers: bearer(token) }, bindings);
}

export async function errorCode(res: Response) {
  return ((await res.json()) as { error: { code: string } }).error.code;
}
