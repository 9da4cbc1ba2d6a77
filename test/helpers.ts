import { env } from "cloudflare:workers";
import app from "../src/index";

export type Json = Record<string, unknown>;

/** Calls the real app with the test bindings, optionally overriding some of them. */
export function call(path: string, init: RequestInit = {}, overrides: Partial<Cloudflare.Env> = {}): Promise<Response> {
  const bindings = Object.keys(overrides).length === 0 ? env : { ...env, ...overrides };
  return Promise.resolve(app.request(path, init, bindings));
}

export function postJson(
  path: string,
  body: unknown,
  headers: HeadersInit = {},
  overrides: Partial<Cloudflare.Env> = {},
) {
  return call(
    path,
    { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) },
    overrides,
  );
}

/** An address no other test uses, so tests never depend on each other. */
export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${crypto.randomUUID()}@example.com`;
}

export function newUser(fields: Json = {}): Json & { email: string; password: string } {
  return { firstName: "Ada", lastName: "Lovelace", email: uniqueEmail(), password: "correct horse battery", ...fields };
}

/** Registers a fresh user and returns what it sent and what came back. */
export async function registered(fields: Json = {}) {
  const input = newUser(fields);
  const res = await postJson("/register", input);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as Json & { token: string; id: string };
  return { input, body, token: body.token };
}

/** Asserts the JSON error envelope and returns it. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  if (!res.headers.get("content-type")?.startsWith("application/json")) {
    throw new Error(`expected a JSON error, got ${res.status} ${res.headers.get("content-type")}`);
  }
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}
