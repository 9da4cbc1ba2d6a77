import { createHmac, randomInt, randomUUID } from "node:crypto";
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { afterAll, test as base, expect, inject } from "vitest";

/** The server under test and what is known about it (see ./servers.ts). */
export const target = inject("blackbox");

/** The API's request body limit (16 KiB). */
export const BODY_LIMIT = 16 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;

/** One exchange as the server answered it. */
export type Answer = {
  method: string;
  path: string;
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  ms: number;
};

export type RequestOptions = {
  /** An array value sends the header once per item. */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Streamed in pieces without Content-Length. */
  chunked?: boolean;
};

/** One line describing an exchange, for failure messages. */
export function summary(res: Answer): string {
  const body = res.text.length > 200 ? `${res.text.slice(0, 200)}…` : res.text;
  return `${res.method} ${res.path} -> ${res.status} ${body.replace(/\s+/g, " ")}`;
}

/** Kept-alive connections per server. Every test file loads this module afresh, so the
 * hook below closes that file's connections when it ends. */
const agents = new Map<string, http.Agent>();
afterAll(() => {
  for (const agent of agents.values()) agent.destroy();
});

/** Any method, duplicate headers, raw bytes, the path byte for byte. Any 5xx fails. */
export function send(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  const root = new URL(baseUrl);
  const transport = root.protocol === "https:" ? https : http;
  let agent = agents.get(root.origin);
  if (!agent) {
    agent = new transport.Agent({ keepAlive: true, maxSockets: 8 });
    agents.set(root.origin, agent);
  }
  const { headers = {}, body, chunked = false } = options;
  const sent: Record<string, string | string[]> = { ...headers };
  const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  if (bytes && !chunked) sent["content-length"] = String(bytes.length);
  const attempt = (retry: boolean): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      // The path goes out byte for byte: a URL object would resolve `%2e%2e` and `//`.
      const req = transport.request(
        {
          protocol: root.protocol,
          hostname: root.hostname,
          port: root.port,
          path: `${root.pathname.replace(/\/$/, "")}${path}`,
          method,
          headers: sent,
          agent,
          maxHeaderSize: 1024 * 1024,
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const answer: Answer = {
              method,
              path: path.length > 80 ? `${path.slice(0, 80)}…` : path,
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString("utf8"),
              ms: performance.now() - started,
            };
            if (answer.status >= 500) reject(new Error(`server error: ${summary(answer)}`));
            else resolve(answer);
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on("error", (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed just as we picked it (wrangler dev's proxy
        // does so after refusing a streamed upload) fails before any answer: the request
        // never reached the worker, so it goes once more, on a fresh socket.
        if (retry && req.reusedSocket && err.code === "ECONNRESET") resolve(attempt(false));
        else reject(err);
      });
      if (bytes && chunked) {
        // Streamed in pieces without Content-Length: the limit must count what arrives.
        for (let at = 0; at < bytes.length; at += 4096) req.write(bytes.subarray(at, at + 4096));
      } else if (bytes) req.write(bytes);
      req.end();
    });
  return attempt(true);
}

/** An address in 198.18.0.0/15, a benchmarking range. */
export function randomIp(): string {
  return `198.${randomInt(18, 20)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

export type NewUser = { firstName: string; lastName: string; email: string; password: string };
/** What POST /register answers, with the registration it was sent. */
export type Registered = NewUser & { id: string; token: string; refresh_token: string; first_name: string };

/** A registration with a unique email. */
export function newUser(prefix = "hostile"): NewUser {
  const id = randomUUID();
  return { firstName: "Hostile", lastName: "Tester", email: `${prefix}-${id}@example.com`, password: `hx-${id}-Q9!` };
}

/** A client of `baseUrl` whose every request carries its own random `CF-Connecting-IP`
 * (unless a request sets one), so the per-IP limits it trips reach no other test. */
export function client(baseUrl = target.base) {
  const ip = randomIp();
  const request = (method: string, path: string, options: RequestOptions = {}) =>
    send(baseUrl, method, path, { ...options, headers: { "cf-connecting-ip": ip, ...options.headers } });
  /** A JSON body (a string or Buffer is sent as given), labelled application/json unless `headers` say otherwise. */
  const post = (path: string, value: unknown, headers: Record<string, string> = {}) =>
    request("POST", path, {
      headers: { "content-type": "application/json", ...headers },
      body: typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value),
    });
  const get = (path: string, headers: Record<string, string | string[]> = {}) => request("GET", path, { headers });

  async function register(user = newUser()): Promise<Registered> {
    const res = await post("/register", user);
    expectStatus(res, 201);
    return { ...user, ...JSON.parse(res.text) };
  }
  /** Proves a refused request wrote nothing: its email can still be registered. */
  async function expectRegistrable(email: string) {
    const res = await post("/register", { ...newUser(), email });
    expect(res.status, `the refused request left something behind, ${email} can't register: ${summary(res)}`).toBe(201);
    return JSON.parse(res.text);
  }
  /** GET /me, which must answer 200. */
  async function me(token: string) {
    const res = await get("/me", bearer(token));
    expectStatus(res, 200);
    return JSON.parse(res.text);
  }
  return { ip, request, post, get, register, expectRegistrable, me };
}

export type Client = ReturnType<typeof client>;

/** `it` with `t`: a client of the server under test with a `CF-Connecting-IP` of its own. */
export const it = base.extend("t", () => client());

/** An Authorization header carrying `token`. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The status is `expected`, or one of them. */
export function expectStatus(res: Answer, expected: number | number[]) {
  expect([expected].flat(), `status: ${summary(res)}`).toContain(res.status);
}

/** The JSON error envelope `{"error":{"code","message"}}`, nothing more, with one of `codes`. */
export function expectEnvelope(res: Answer, codes: string | string[]): { code: string; message: string } {
  expect(res.headers["content-type"] ?? "", `content type: ${summary(res)}`).toMatch(/^application\/json\b/i);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    expect.fail(`body is not JSON: ${summary(res)}`);
  }
  expect(body, `the {"error":{"code","message"}} envelope: ${summary(res)}`).toEqual({
    error: { code: expect.any(String), message: expect.any(String) },
  });
  const { error } = body as { error: { code: string; message: string } };
  expect(error.message, `message: ${summary(res)}`).not.toBe("");
  expect([codes].flat(), `code: ${summary(res)}`).toContain(error.code);
  return error;
}

/** Status and error code together; each may be a list of acceptable values. */
export function expectError(res: Answer, status: number | number[], code: string | string[]) {
  expectStatus(res, status);
  return expectEnvelope(res, code);
}

/** `Retry-After` in whole seconds. */
export function expectRetryAfter(res: Answer) {
  const value = String(res.headers["retry-after"] ?? "");
  expect(value, "Retry-After in seconds").toMatch(/^\d+$/);
  expect(Number(value), "Retry-After in seconds").toBeGreaterThan(0);
}

/** Runs `setup` once, on first use, and shares its result between a file's tests. */
export function once<T>(setup: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= setup();
    return value;
  };
}

/** base64url of a string as given, or of a value's JSON. */
export const b64url = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** An HS256 (or HS512) JWT signed with `key`; `header` and `payload` are sent as given. */
export function signJwt(header: object, payload: object, key: string, hash = "sha256"): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest("base64url")}`;
}

/** A JWT's payload, unverified. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
}

/** The same token with the last base64url character changed in its unused low bits:
 * a 32-byte signature leaves 2 bits of the 43rd character unused. */
export function lowBitsVariant(token: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(token.at(-1) ?? "");
  return token.slice(0, -1) + alphabet[last ^ 1];
}
