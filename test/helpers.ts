import { env } from "cloudflare:workers";
import * as z from "zod/mini";
import { counting } from "../bench/worker/src/d1";
import { openApiPath, routeDocs } from "../src/platform/openapi/document";
import { app } from "../src/worker";

export type Json = Record<string, unknown>;

/** The address requests come from when they name none (see `fromFreshAddress`). */
let defaultAddress: string | undefined;

/** Requests that send no CF-Connecting-IP come from a new random address from now on:
 * for a file whose tests, together, would pass the per-IP login limit (100 a minute)
 * in the one bucket requests without the header share. Call it in `beforeEach`. */
export function fromFreshAddress(): void {
  defaultAddress = randomAddress();
}

/** A random client address in 10.0.0.0/8, for a test's own per-IP budget. */
export function randomAddress(): string {
  const byte = () => Math.floor(Math.random() * 250) + 1;
  return `10.${byte()}.${byte()}.${byte()}`;
}

/** Calls the real app with the test bindings, optionally overriding some of them.
 * Every error answer is noted with its route (see `takeAnswered`). */
export async function call(
  path: string,
  init: RequestInit = {},
  overrides: Partial<Cloudflare.Env> = {},
): Promise<Response> {
  const bindings = Object.keys(overrides).length === 0 ? env : { ...env, ...overrides };
  const headers = new Headers(init.headers);
  if (defaultAddress && !headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", defaultAddress);
  const res = await app.request(path, { ...init, headers }, bindings);
  await note(init.method ?? "GET", path, res);
  return res;
}

/** "METHOD /openapi/path code" for each error answer since the last `takeAnswered`. */
const answered = new Set<string>();

/** The error answers noted since the last call, and forgets them. test/answered-codes.ts
 * puts them in each test's meta; scripts/test.mjs checks them against the OpenAPI document. */
export function takeAnswered(): string[] {
  const list = [...answered].sort();
  answered.clear();
  return list;
}

/** The route `method` and `path` reach, as the document names it (`GET /sessions/{id}`),
 * or undefined when none does (404, 405 and preflights belong to no route). */
export function routeOf(method: string, path: string): string | undefined {
  const upper = method.toUpperCase();
  const [matches] = app.router.match(upper === "HEAD" ? "GET" : upper, new URL(path, "http://localhost").pathname);
  const route = matches.map(([[, route]]) => route).find((route) => route.method !== "ALL");
  return route && `${route.method} ${openApiPath(route.path)}`;
}

const documented = routeDocs(app);

/** Checks a 2xx JSON answer of `route` against the schema its OpenAPI description gives
 * that status (`ok.json`, or `alsoOk.json`): it must parse, and parsing must keep it as it
 * is (a field the schema does not name would be dropped, so it fails too). */
async function expectDocumentedBody(route: string, res: Response): Promise<void> {
  const [method = "", path = ""] = route.split(" ");
  const doc = documented.get(`${method.toLowerCase()} ${path}`);
  if (!doc || !res.headers.get("content-type")?.startsWith("application/json")) return;
  const schema =
    res.status === doc.ok.status ? doc.ok.json : res.status === doc.alsoOk?.status ? doc.alsoOk.json : undefined;
  if (!schema) throw new Error(`${route} answered ${res.status} with JSON, which its description does not document`);
  const body: unknown = await res.clone().json();
  const parsed = z.safeParse(schema, body);
  if (!parsed.success)
    throw new Error(`${route} ${res.status}: the body does not match its schema: ${parsed.error.message}`);
  if (canonical(parsed.data) !== canonical(body)) {
    throw new Error(`${route} ${res.status}: the body has fields its schema does not name: ${JSON.stringify(body)}`);
  }
}

/** `value` as JSON with every object's keys sorted, to compare two values whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
  );
}

/** Notes `res`'s error code for its route (for tests that call `app.request` themselves),
 * and checks a 2xx JSON answer against the route's documented schema. */
export async function note(method: string, path: string, res: Response): Promise<void> {
  const route = routeOf(method, path);
  if (route && res.status < 300 && res.body !== null) await expectDocumentedBody(route, res);
  // HEAD answers carry the headers of GET's, and no body to read a code from.
  if (!route || res.status < 400 || res.body === null) return;
  if (!res.headers.get("content-type")?.startsWith("application/json")) return;
  // The API's envelope {error: {code}}, or the OAuth endpoints' RFC shape {error: "..."}.
  const body = (await res.clone().json()) as { error?: { code?: string } | string };
  const code = typeof body.error === "string" ? body.error : body.error?.code;
  if (code) answered.add(`${route} ${code}`);
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
export async function registered(fields: Json = {}, headers: Record<string, string> = {}) {
  const input = newUser(fields);
  const res = await postJson("/register", input, headers);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as Json & { token: string; id: string; refresh_token: string };
  return { input, body, token: body.token, refreshToken: body.refresh_token };
}

/** Asserts the JSON error envelope and returns it. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  if (!res.headers.get("content-type")?.startsWith("application/json")) {
    throw new Error(`expected a JSON error, got ${res.status} ${res.headers.get("content-type")}`);
  }
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}

/** Headers carrying `token` the way new clients send it. */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** The decoded payload of a JWT, without verifying it. */
export function claimsOf(token: string): Json {
  const payload = token.split(".")[1] ?? "";
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
}

export type TokenPair = { token: string; refresh_token: string; expires_in: number };

/** What POST /register and POST /login answer, in this order: the user and a token pair. */
export const SIGNED_IN_FIELDS = [
  "id",
  "first_name",
  "last_name",
  "email",
  "token",
  "refresh_token",
  "expires_in",
  "created_at",
];

/** What a token pair alone holds (/token/refresh, POST /me/password), sorted. */
export const TOKEN_PAIR_FIELDS = ["expires_in", "refresh_token", "token"];

/** Logs `input` in again, starting another session. */
export async function loggedIn(input: { email: string; password: string }, headers: Record<string, string> = {}) {
  const res = await postJson("/login", { email: input.email, password: input.password }, headers);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as TokenPair & { id: string };
}

export function refresh(refreshToken: string) {
  return postJson("/token/refresh", { refresh_token: refreshToken });
}

/** Makes the user an admin directly in D1, as `npm run admin:grant` does. */
export async function promote(userId: string): Promise<void> {
  await env.DB.prepare("update users set role = 'admin' where id = ?").bind(userId).run();
}

/** A JSON request to `path` with `token` as Bearer, the way account routes are called. */
export function send(
  method: string,
  path: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return call(path, {
    method,
    headers: { ...bearer(token), "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Every stored audit event of a user, oldest first, straight from D1 (the columns as stored). */
export async function auditRowsOf(userId: string) {
  const { results } = await env.DB.prepare("select * from audit_events where user_id = ? order by time, rowid")
    .bind(userId)
    .all<Record<string, string | null>>();
  return results;
}

/** A passkey row for `userId` straight into D1 (a stand-in that only needs to exist: it
 * makes the account one with a second factor; no authenticator holds its key). */
export async function insertPasskeyRow(userId: string): Promise<string> {
  const id = crypto.randomUUID();
  await env.DB.prepare(
    `insert into passkeys (id, user_id, credential_id, public_key, counter, name, device_type, backed_up, created_at)
     values (?, ?, ?, 'AA', 0, 'Stand-in', 'singleDevice', 0, ?)`,
  )
    .bind(id, userId, crypto.randomUUID(), Date.now())
    .run();
  return id;
}

/** `db` wrapped so every call that reaches the database counts as one round trip (a
 * statement's `first`/`run`/`all`/`raw`, or one `batch` of any size), and every session
 * opened (`withSession`) too: the bench worker's own counting binding
 * (bench/worker/src/d1.ts), so the tests and the bench count alike. */
export function countingD1(db: D1Database): { DB: D1Database; roundTrips: () => number; sessions: () => number } {
  const counts = { roundTrips: 0, sessions: 0 };
  return { DB: counting(db, () => counts), roundTrips: () => counts.roundTrips, sessions: () => counts.sessions };
}

/** The D1 round trips one request makes: `send` gets bindings (for `call`, `postJson` and
 * the like) whose `DB` is the test database behind `countingD1`. */
export async function roundTripsOf(
  send: (bindings: Partial<Cloudflare.Env>) => Promise<Response>,
): Promise<{ res: Response; roundTrips: number; sessions: number }> {
  const counter = countingD1(env.DB);
  const res = await send({ DB: counter.DB });
  return { res, roundTrips: counter.roundTrips(), sessions: counter.sessions() };
}
