// `npm run hostile -- --base URL [--token-key KEY] [--allowlist-origin ORIGIN] [--reuse-interval S] [--only GROUPS]`
// A black-box hostile run against a running server (`npm run dev`, or a deployment):
// malformed JSON, wrong content types, poisoned emails, forged and malformed tokens,
// CORS reflection, odd methods and paths, secure headers, brute force. One line per case,
// then `N passed, M failed`; exit code 1 on any failure.
//
// --token-key KEY          the server's TOKEN_KEY (start it with `--var TOKEN_KEY:KEY`);
//                          without it the cases that need a validly signed token are skipped
// --allowlist-origin URL   the server runs with CORS_ORIGINS=URL: check reflection attempts
//                          instead of the default `*` behaviour
// --reuse-interval SECONDS the server's REFRESH_REUSE_INTERVAL, when short (start it with
//                          `--var REFRESH_REUSE_INTERVAL:2s`): checks a rotated refresh token
//                          presented after it is theft; skipped without
// --only json,tokens,...   run only these groups
//
// Every group sends its own random CF-Connecting-IP (198.18.0.0/15, a benchmarking range),
// so the per-IP rate limits it trips never reach other clients of the same server.
// Plain Node (>= 20), no dependencies.
import { createHmac, randomInt, randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { pathToFileURL } from "node:url";

const BODY_LIMIT = 16 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
/** Refresh attempts allowed per CF-Connecting-IP per window (wrangler.toml), plus slack. */
const REFRESH_BURST = 110;
/** How fast a 100 KB preflight must be answered. */
const PREFLIGHT_BUDGET_MS = 1_000;

export const GROUPS = [
  "json",
  "content-type",
  "email",
  "accounts",
  "tokens",
  "sessions",
  "cors",
  "http",
  "headers",
  "abuse",
];

class Skip extends Error {}

/** Fails the current case with `message` unless `condition` holds. */
function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** One line describing an exchange, for failure messages. */
function describe(res) {
  const body = res.text.length > 200 ? `${res.text.slice(0, 200)}…` : res.text;
  return `${res.method} ${res.path} -> ${res.status} ${body.replace(/\s+/g, " ")}`;
}

function expectStatus(res, expected) {
  const allowed = [expected].flat();
  check(allowed.includes(res.status), `expected ${allowed.join(" or ")}: ${describe(res)}`);
}

/** The JSON error envelope `{"error":{"code","message"}}`, nothing more, with one of `codes`. */
function expectEnvelope(res, codes) {
  const type = res.headers["content-type"] ?? "";
  check(/^application\/json\b/i.test(type), `content-type "${type}" is not JSON: ${describe(res)}`);
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new Error(`body is not JSON: ${describe(res)}`);
  }
  const error = body?.error;
  const shaped =
    body !== null &&
    typeof body === "object" &&
    Object.keys(body).join() === "error" &&
    error !== null &&
    typeof error === "object" &&
    Object.keys(error).sort().join() === "code,message" &&
    typeof error.message === "string" &&
    error.message !== "";
  check(shaped, `not the {"error":{"code","message"}} envelope: ${describe(res)}`);
  const allowed = [codes].flat();
  check(allowed.includes(error.code), `expected code ${allowed.join(" or ")}: ${describe(res)}`);
  return error;
}

/** Status and error code together; each may be a list of acceptable values. */
function expectError(res, status, code) {
  expectStatus(res, status);
  return expectEnvelope(res, code);
}

/** `Retry-After` in whole seconds. */
function expectRetryAfter(res) {
  const value = res.headers["retry-after"];
  check(/^\d+$/.test(value ?? "") && Number(value) > 0, `Retry-After "${value}" is not a number of seconds`);
}

function randomIp() {
  return `198.${randomInt(18, 20)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

function newUser(prefix = "hostile") {
  const id = randomUUID();
  return { firstName: "Hostile", lastName: "Tester", email: `${prefix}-${id}@example.com`, password: `hx-${id}-Q9!` };
}

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** An HS256 (or HS512) JWT signed with `key`; `header` and `payload` are sent as given. */
function signJwt(header, payload, key, hash = "sha256") {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest("base64url")}`;
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
}

/** The same token with the last base64url character changed in its unused low bits:
 * a 32-byte signature leaves 2 bits of the 43rd character unused. */
function lowBitsVariant(token) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(token.at(-1));
  return token.slice(0, -1) + alphabet[last ^ 1];
}

/** HTTP client for one server: any method, duplicate headers (array values), raw bytes. */
function connect(base) {
  const root = new URL(base);
  const transport = root.protocol === "https:" ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 8 });
  const request = (method, path, options = {}) =>
    new Promise((resolve, reject) => {
      const { headers = {}, body, chunked = false, retry = true } = options;
      const sent = { ...headers };
      const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
      if (bytes && !chunked) sent["content-length"] = String(bytes.length);
      const started = performance.now();
      // The path goes out byte for byte: a URL object would resolve `%2e%2e` and `//`.
      const target = {
        protocol: root.protocol,
        hostname: root.hostname,
        port: root.port,
        path: `${root.pathname.replace(/\/$/, "")}${path}`,
      };
      const req = transport.request(
        { ...target, method, headers: sent, agent, maxHeaderSize: 1024 * 1024, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          const chunks = [];
          res.on("data", (chunk) => chunks.push(chunk));
          res.on("end", () => {
            const result = {
              method,
              path: path.length > 80 ? `${path.slice(0, 80)}…` : path,
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString("utf8"),
              ms: performance.now() - started,
            };
            if (result.status >= 500) reject(new Error(`server error: ${describe(result)}`));
            else resolve(result);
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on("error", (err) => {
        // A kept-alive socket the server closed just as we picked it (wrangler dev's proxy
        // does so after refusing a streamed upload) fails before any answer: the request
        // never reached the worker, so it goes once more, on a fresh socket.
        if (retry && req.reusedSocket && err.code === "ECONNRESET") {
          resolve(request(method, path, { ...options, retry: false }));
        } else reject(err);
      });
      if (bytes && chunked) {
        // Streamed in pieces without Content-Length: the limit must count what arrives.
        for (let at = 0; at < bytes.length; at += 4096) req.write(bytes.subarray(at, at + 4096));
      } else if (bytes) req.write(bytes);
      req.end();
    });
  return { request, close: () => agent.destroy() };
}

/** A loopback server playing an attacker's key host: counts every request it gets. */
function attackerHost() {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [{ kty: "oct", kid: "attacker", k: b64url("attacker-key") }] }));
  });
  const listening = new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: async (file) => {
      await listening;
      const address = server.address();
      return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/${file}`;
    },
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Per-group helpers: every request carries the group's CF-Connecting-IP unless a
 * case sets its own. */
function toolkit(client, ip) {
  const request = (method, path, options = {}) =>
    client.request(method, path, {
      ...options,
      headers: { "cf-connecting-ip": ip, ...options.headers },
    });
  const post = (path, value, headers = {}) =>
    request("POST", path, {
      headers: { "content-type": "application/json", ...headers },
      body: typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value),
    });
  const get = (path, headers = {}) => request("GET", path, { headers });
  const bearer = (token) => ({ authorization: `Bearer ${token}` });

  async function register(user = newUser()) {
    const res = await post("/register", user);
    expectStatus(res, 201);
    return { ...user, ...JSON.parse(res.text) };
  }
  /** Proves a refused request wrote nothing: its email can still be registered. */
  async function expectRegistrable(email) {
    const res = await post("/register", { ...newUser(), email });
    check(res.status === 201, `the refused request left something behind, ${email} can't register: ${describe(res)}`);
    return JSON.parse(res.text);
  }
  async function me(token) {
    const res = await get("/me", bearer(token));
    expectStatus(res, 200);
    return JSON.parse(res.text);
  }
  return { ip, request, post, get, bearer, register, expectRegistrable, me };
}

/** Runs `setup` once, on first use, and shares its result between a group's cases. */
function once(setup) {
  let value;
  return () => {
    value ??= setup();
    return value;
  };
}

// ---------------------------------------------------------------------------- groups

function jsonCases(t) {
  const raw = (path, text) => t.post(path, text);
  const deepest = (open, close, inner) => {
    // The deepest `email` nesting whose body still fits in the limit, padded to exactly
    // BODY_LIMIT bytes with JSON whitespace; `over` is the same body one byte longer.
    const frame = (depth, pad) =>
      `{"password":"x-hostile-1","email":${open.repeat(depth)}${inner}${close.repeat(depth)}${" ".repeat(pad)}}`;
    const unit = open.length + close.length;
    const depth = Math.floor((BODY_LIMIT - frame(0, 0).length) / unit);
    const fits = frame(depth, BODY_LIMIT - frame(depth, 0).length);
    return { depth, fits, over: `${fits.slice(0, -1)} }` };
  };
  return [
    [
      "truncated body -> 400 invalid_json, nothing written",
      async () => {
        const user = newUser();
        expectError(await raw("/register", JSON.stringify(user).slice(0, -3)), 400, "invalid_json");
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "empty body on /register -> 400 invalid_json",
      async () => expectError(await raw("/register", ""), 400, "invalid_json"),
    ],
    ["empty body on /login -> 400 invalid_json", async () => expectError(await raw("/login", ""), 400, "invalid_json")],
    [
      "empty body on /token/refresh -> 400 invalid_json",
      async () => expectError(await raw("/token/refresh", ""), 400, "invalid_json"),
    ],
    [
      "whitespace-only body -> 400 invalid_json",
      async () => expectError(await raw("/login", " \r\n\t "), 400, "invalid_json"),
    ],
    [
      "top-level array holding a valid registration -> 400 invalid_json, nothing written",
      async () => {
        const user = newUser();
        expectError(await raw("/register", JSON.stringify([user])), 400, "invalid_json");
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "top-level string -> 400 invalid_json",
      async () => expectError(await raw("/login", '"a@b.c"'), 400, "invalid_json"),
    ],
    ["top-level number -> 400 invalid_json", async () => expectError(await raw("/login", "42"), 400, "invalid_json")],
    [
      "top-level null -> 400 invalid_json",
      async () => expectError(await raw("/register", "null"), 400, "invalid_json"),
    ],
    [
      "top-level true -> 400 invalid_json",
      async () => expectError(await raw("/token/refresh", "true"), 400, "invalid_json"),
    ],
    [
      "arrays nested as deep as 16 KiB allows, where a string belongs -> 400 invalid_input",
      async () => {
        const { fits, depth } = deepest("[", "]", "");
        check(Buffer.byteLength(fits) === BODY_LIMIT && depth > 8000, `bad fixture: depth ${depth}`);
        expectError(await raw("/login", fits), 400, "invalid_input");
      },
    ],
    [
      "objects nested as deep as 16 KiB allows -> 400 invalid_input",
      async () => expectError(await raw("/login", deepest('{"a":', "}", "1").fits), 400, "invalid_input"),
    ],
    [
      "deepest nesting one byte over 16 KiB -> 413 payload_too_large",
      async () => expectError(await raw("/login", deepest("[", "]", "").over), 413, "payload_too_large"),
    ],
    [
      "100k-deep nesting (200 KB) -> 413 payload_too_large",
      async () => {
        const depth = 100_000;
        expectError(
          await raw("/login", `{"email":${"[".repeat(depth)}${"]".repeat(depth)}}`),
          413,
          "payload_too_large",
        );
      },
    ],
    [
      "over-limit body streamed without Content-Length -> 413 payload_too_large",
      async () => {
        const user = newUser();
        const body = JSON.stringify({ ...user, padding: "x".repeat(BODY_LIMIT) });
        const res = await t.request("POST", "/register", {
          headers: { "content-type": "application/json" },
          body,
          chunked: true,
        });
        expectError(res, 413, "payload_too_large");
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "invalid UTF-8 byte in a field -> 400 invalid_json, nothing written",
      async () => {
        const user = newUser();
        const [before, after] = JSON.stringify({ ...user, firstName: "@@" }).split("@@");
        const body = Buffer.concat([Buffer.from(before ?? ""), Buffer.from([0xff, 0xfe]), Buffer.from(after ?? "")]);
        expectError(await raw("/register", body), 400, "invalid_json");
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "overlong UTF-8 encoding -> 400 invalid_json",
      async () => {
        const body = Buffer.concat([
          Buffer.from('{"email":"a'),
          Buffer.from([0xc0, 0xaf]),
          Buffer.from('@b.co","password":"x"}'),
        ]);
        expectError(await raw("/login", body), 400, "invalid_json");
      },
    ],
    [
      "UTF-16 body labelled application/json -> 400 invalid_json",
      async () => {
        const body = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"email":"a@b.co"}', "utf16le")]);
        expectError(await raw("/login", body), 400, "invalid_json");
      },
    ],
    [
      "lone surrogate escape in a name -> 400 invalid_input, nothing written",
      async () => {
        const user = newUser();
        const body = JSON.stringify({ ...user, firstName: "@@" }).replace('"@@"', '"\\ud800"');
        expectError(await raw("/register", body), 400, "invalid_input");
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "duplicate email keys: validation and storage both use the last one",
      async () => {
        const user = newUser();
        const first = newUser().email;
        const body = JSON.stringify(user).replace('"email":', `"email":${JSON.stringify(first)},"email":`);
        const res = await raw("/register", body);
        expectStatus(res, 201);
        check(JSON.parse(res.text).email === user.email, `stored ${JSON.parse(res.text).email}, not the last value`);
        await t.expectRegistrable(first);
      },
    ],
    [
      "duplicate email keys, last one invalid -> 400 invalid_input, the first one not written",
      async () => {
        const user = newUser();
        // The valid email comes first, the invalid one last.
        const body = `${JSON.stringify(user).slice(0, -1)},"email":"not-an-email"}`;
        expectError(await raw("/register", body), 400, "invalid_input");
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "duplicate password keys: only the last one logs in",
      async () => {
        const user = newUser();
        const decoy = "decoy-password-1";
        const body = JSON.stringify(user).replace('"password":', `"password":"${decoy}","password":`);
        expectStatus(await raw("/register", body), 201);
        expectStatus(await t.post("/login", { email: user.email, password: user.password }), 200);
        expectError(await t.post("/login", { email: user.email, password: decoy }), 400, "invalid_credentials");
      },
    ],
    [
      '"__proto__": {"role":"admin"} at /register: 201, GET /me says role "user"',
      async () => {
        const user = newUser();
        const body = `{"__proto__":{"role":"admin","isAdmin":true},${JSON.stringify(user).slice(1)}`;
        const res = await raw("/register", body);
        expectStatus(res, 201);
        const account = await t.me(JSON.parse(res.text).token);
        check(account.role === "user", `role is ${account.role}`);
      },
    ],
    [
      '"constructor": {"prototype": {"role":"admin"}} at /register: role stays "user", also for the next user',
      async () => {
        const user = newUser();
        const body = `{"constructor":{"prototype":{"role":"admin"}},${JSON.stringify(user).slice(1)}`;
        const res = await raw("/register", body);
        expectStatus(res, 201);
        check((await t.me(JSON.parse(res.text).token)).role === "user", "role changed");
        const next = await t.register();
        check((await t.me(next.token)).role === "user", "a later user inherited a polluted role");
      },
    ],
    [
      '"__proto__" carrying the email at /login -> 400 invalid_input (no inherited fields)',
      async () => {
        const body = `{"__proto__":{"email":"${newUser().email}"},"password":"whatever-123"}`;
        expectError(await raw("/login", body), 400, "invalid_input");
      },
    ],
    [
      "unknown fields (id, role, created_at, isAdmin) are ignored",
      async () => {
        const user = newUser();
        const forced = { id: "00000000-0000-0000-0000-000000000000", role: "admin", isAdmin: true };
        const res = await t.post("/register", { ...user, ...forced, created_at: "1970-01-01T00:00:00.000Z" });
        expectStatus(res, 201);
        const created = JSON.parse(res.text);
        check(created.id !== forced.id && !created.created_at.startsWith("1970"), `took client fields: ${res.text}`);
        check((await t.me(created.token)).role === "user", "role taken from the body");
      },
    ],
    [
      "email as a number -> 400 invalid_input",
      async () => expectError(await t.post("/register", { ...newUser(), email: 42 }), 400, "invalid_input"),
    ],
    [
      "email as an array at /login -> 400 invalid_input",
      async () =>
        expectError(await t.post("/login", { email: [newUser().email], password: "x-1234567" }), 400, "invalid_input"),
    ],
    [
      'password as {"$gt":""} at /login -> 400 invalid_input',
      async () =>
        expectError(await t.post("/login", { email: newUser().email, password: { $gt: "" } }), 400, "invalid_input"),
    ],
    [
      "firstName as an object -> 400 invalid_input, nothing written",
      async () => {
        const user = newUser();
        expectError(await t.post("/register", { ...user, firstName: { first: "x" } }), 400, "invalid_input");
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "password as true -> 400 invalid_input",
      async () => expectError(await t.post("/register", { ...newUser(), password: true }), 400, "invalid_input"),
    ],
    [
      "refresh_token as a number -> 400 invalid_input",
      async () => expectError(await t.post("/token/refresh", { refresh_token: 12345 }), 400, "invalid_input"),
    ],
    [
      "a null field -> 400 invalid_input (All input is required)",
      async () => {
        const error = expectError(await t.post("/register", { ...newUser(), lastName: null }), 400, "invalid_input");
        check(error.message === "All input is required", `message "${error.message}"`);
      },
    ],
  ];
}

function contentTypeCases(t) {
  const user = () => newUser();
  const bodies = {
    "/register": user,
    "/login": () => ({ email: newUser().email, password: "x-hostile-1" }),
    "/token/refresh": () => ({ refresh_token: "hostile-refresh-token" }),
  };
  const encodings = {
    "text/plain": (value) => ["text/plain", JSON.stringify(value)],
    "application/x-www-form-urlencoded": (value) => [
      "application/x-www-form-urlencoded",
      new URLSearchParams(Object.entries(value).map(([k, v]) => [k, String(v)])).toString(),
    ],
    "multipart/form-data": (value) => {
      const boundary = "----hostile";
      const parts = Object.entries(value).map(
        ([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
      );
      return [`multipart/form-data; boundary=${boundary}`, `${parts.join("")}--${boundary}--\r\n`];
    },
  };
  const cases = [];
  for (const [path, make] of Object.entries(bodies)) {
    for (const [label, encode] of Object.entries(encodings)) {
      cases.push([
        `${label} on ${path} -> 415 unsupported_media_type${path === "/register" ? ", nothing written" : ""}`,
        async () => {
          const value = make();
          const [type, body] = encode(value);
          expectError(await t.post(path, body, { "content-type": type }), 415, "unsupported_media_type");
          if (path === "/register") await t.expectRegistrable(value.email);
        },
      ]);
    }
  }
  cases.push(
    [
      "JSON body with no Content-Type -> 415 unsupported_media_type",
      async () => {
        const res = await t.request("POST", "/login", { body: JSON.stringify(bodies["/login"]()) });
        expectError(res, 415, "unsupported_media_type");
      },
    ],
    [
      "JSON body as text/json -> 415 unsupported_media_type",
      async () =>
        expectError(
          await t.post("/login", JSON.stringify(bodies["/login"]()), { "content-type": "text/json" }),
          415,
          "unsupported_media_type",
        ),
    ],
    [
      "form body labelled application/json -> 400 invalid_json",
      async () => expectError(await t.post("/login", "email=a%40b.co&password=x-hostile-1"), 400, "invalid_json"),
    ],
  );
  return cases;
}

function emailCases(t) {
  const victim = once(() => t.register(newUser("alice")));
  /** Logs in as `email` with the victim's password: must never be the victim. */
  const notVictim = async (email, codes = ["invalid_credentials", "invalid_input"]) => {
    const { password, id } = await victim();
    const res = await t.post("/login", { email, password });
    check(
      !(res.status === 200 && JSON.parse(res.text).id === id),
      `logged into the victim's account: ${describe(res)}`,
    );
    expectError(res, 400, codes);
  };
  const withLocal = async (change) => {
    const { email } = await victim();
    const [local, domain] = email.split("@");
    return change(local, domain);
  };
  const refusedAtRegister = async (email) =>
    expectError(await t.post("/register", { ...newUser(), email }), 400, "invalid_input");
  return [
    [
      "NUL inside the email at /register -> 400 invalid_input",
      async () => refusedAtRegister(`nul\u0000${newUser().email}`),
    ],
    [
      "NUL after the victim's email at /login -> 400, not the victim",
      async () => notVictim(`${(await victim()).email}\u0000`),
    ],
    [
      "CR/LF header injection in the email at /register -> 400 invalid_input",
      async () => refusedAtRegister(`x\r\nBcc: ${newUser().email}`),
    ],
    [
      "CR/LF inside the victim's email at /login -> 400, not the victim",
      async () => notVictim(await withLocal((local, domain) => `${local}\r\n@${domain}`)),
    ],
    [
      "SOH control character in the email -> 400 invalid_input",
      async () => refusedAtRegister(`a\u0001${newUser().email}`),
    ],
    [
      "ESC control character in the email -> 400 invalid_input",
      async () => refusedAtRegister(`a\u001b[2J${newUser().email}`),
    ],
    [
      "DEL control character in the email -> 400 invalid_input",
      async () => refusedAtRegister(`a\u007f${newUser().email}`),
    ],
    ["TAB inside the email -> 400 invalid_input", async () => refusedAtRegister(`a\tb${newUser().email}`)],
    [
      "100 KB email at /register -> 413 payload_too_large",
      async () =>
        expectError(
          await t.post("/register", { ...newUser(), email: `${"a".repeat(100_000)}@example.com` }),
          413,
          "payload_too_large",
        ),
    ],
    [
      "100 KB email at /login -> 413 payload_too_large",
      async () =>
        expectError(
          await t.post("/login", { email: `${"a".repeat(100_000)}@example.com`, password: "x-hostile-1" }),
          413,
          "payload_too_large",
        ),
    ],
    [
      "255-character email at /register -> 400 invalid_input",
      async () => refusedAtRegister(`${"a".repeat(243)}@example.com`),
    ],
    [
      "SQL fragment ' OR '1'='1 as the email -> 400 invalid_credentials",
      async () => notVictim(`' OR '1'='1' -- ${randomUUID()}`, "invalid_credentials"),
    ],
    [
      "the victim's email followed by '-- -> 400, not the victim",
      async () => notVictim(`${(await victim()).email}' --`),
    ],
    [
      "DROP TABLE in the email at /register -> 400 invalid_input, the table survives",
      async () => {
        await refusedAtRegister(`x'); DROP TABLE users; --${randomUUID()}@example.com`);
        const { email, password } = await victim();
        expectStatus(await t.post("/login", { email, password }), 200);
      },
    ],
    [
      "LIKE wildcard % matching the victim's email -> 400, not the victim",
      async () => notVictim(await withLocal((local, domain) => `${local.slice(0, 12)}%@${domain}`)),
    ],
    [
      "LIKE wildcard _ in place of one character -> 400, not the victim",
      async () => notVictim(await withLocal((local, domain) => `_${local.slice(1)}@${domain}`)),
    ],
    [
      "% in the email at /register -> 400 invalid_input",
      async () => refusedAtRegister(`a%b-${randomUUID()}@example.com`),
    ],
    [
      "Cyrillic а in place of a never logs into the victim",
      async () => notVictim(await withLocal((local, domain) => `\u0430${local.slice(1)}@${domain}`)),
    ],
    [
      "fullwidth ａ in place of a never logs into the victim",
      async () => notVictim(await withLocal((local, domain) => `\uff41${local.slice(1)}@${domain}`)),
    ],
    [
      "Cyrillic е in the domain never logs into the victim",
      async () => notVictim(await withLocal((local, domain) => `${local}@${domain.replace("e", "\u0435")}`)),
    ],
    [
      "zero-width space inside the email never logs into the victim",
      async () =>
        notVictim(await withLocal((local, domain) => `${local.slice(0, 3)}\u200b${local.slice(3)}@${domain}`)),
    ],
    [
      "registering a look-alike of the victim never yields the victim's account",
      async () => {
        const { email, password, id } = await victim();
        const lookalike = `\u0430${email.slice(1)}`;
        const res = await t.post("/register", { ...newUser(), email: lookalike, password });
        if (res.status === 201) check(JSON.parse(res.text).id !== id, "the look-alike got the victim's id");
        else expectError(res, 400, "invalid_input");
        const login = await t.post("/login", { email, password });
        expectStatus(login, 200);
        check(JSON.parse(login.text).id === id, "the victim's login changed hands");
      },
    ],
    [
      "letter case and surrounding spaces still log in the victim (control)",
      async () => {
        const { email, password, id } = await victim();
        const res = await t.post("/login", { email: `  ${email.toUpperCase()} `, password });
        expectStatus(res, 200);
        check(JSON.parse(res.text).id === id, "another account");
      },
    ],
  ];
}

function accountCases(t) {
  const refusedName = (label, value) => [
    `firstName ${label} at /register -> 400 invalid_input, nothing written`,
    async () => {
      const user = { ...newUser(), firstName: value };
      expectError(await t.post("/register", user), 400, "invalid_input");
      await t.expectRegistrable(user.email);
    },
  ];
  const precomposed = "\u00c7\u00f6\u00f1f\u00efrm\u00e9-p\u00e4ssw\u00f6rd";
  const decomposed = precomposed.normalize("NFD");
  const local = () => `hostile-${randomUUID().slice(0, 12)}`;
  return [
    [
      'password "🔑🔑" (2 characters, 8 bytes) -> 400 "at least 8 characters", nothing written',
      async () => {
        const user = { ...newUser(), password: "🔑🔑" };
        const error = expectError(await t.post("/register", user), 400, "invalid_input");
        check(error.message === "password must be at least 8 characters", `message "${error.message}"`);
        await t.expectRegistrable(user.email);
      },
    ],
    [
      "password of 4 decomposed é (8 code points as sent, 4 in NFC) -> 400 invalid_input",
      async () =>
        expectError(await t.post("/register", { ...newUser(), password: "e\u0301".repeat(4) }), 400, "invalid_input"),
    ],
    [
      "password of 19 emoji (76 bytes) -> 400 with the 72-byte message, never cut",
      async () => {
        const error = expectError(
          await t.post("/register", { ...newUser(), password: "🙌".repeat(19) }),
          400,
          "invalid_input",
        );
        check(/at most 72 bytes/.test(error.message), `message "${error.message}"`);
      },
    ],
    [
      "password registered precomposed logs in typed decomposed, and the other way round",
      async () => {
        for (const [registeredAs, typed] of [
          [precomposed, decomposed],
          [decomposed, precomposed],
        ]) {
          const user = await t.register({ ...newUser(), password: registeredAs });
          expectStatus(await t.post("/login", { email: user.email, password: typed }), 200);
        }
      },
    ],
    [
      "password change and account deletion take the other Unicode form of the password",
      async () => {
        const user = await t.register({ ...newUser(), password: precomposed });
        const changed = await t.request("POST", "/me/password", {
          headers: { ...t.bearer(user.token), "content-type": "application/json" },
          body: JSON.stringify({ currentPassword: decomposed, newPassword: `${decomposed}-2` }),
        });
        expectStatus(changed, 200);
        const { token } = JSON.parse(changed.text);
        const gone = await t.request("DELETE", "/me", {
          headers: { ...t.bearer(token), "content-type": "application/json" },
          body: JSON.stringify({ password: `${precomposed}-2` }),
        });
        expectStatus(gone, 204);
      },
    ],
    refusedName("only a zero-width space", "\u200b"),
    refusedName("with a right-to-left override", "\u202eecilA"),
    refusedName("with a left-to-right isolate", "\u2066Alice\u2069"),
    refusedName("with a zero-width joiner alone", "\u200d"),
    refusedName("with a byte order mark inside", "Al\ufeffice"),
    refusedName("only a Hangul filler", "\u3164"),
    refusedName("only a Braille blank", "\u2800"),
    refusedName("only a combining accent", "\u0301"),
    [
      "PATCH /me with an invisible or direction-flipping name -> 400, nothing changed",
      async () => {
        const user = await t.register();
        for (const firstName of ["\u200b", "\u202eecilA", "\u2067x"]) {
          const res = await t.request("PATCH", "/me", {
            headers: { ...t.bearer(user.token), "content-type": "application/json" },
            body: JSON.stringify({ firstName }),
          });
          expectError(res, 400, "invalid_input");
        }
        check((await t.me(user.token)).first_name === user.first_name, "the name changed");
      },
    ],
    [
      "a Persian name with a zero-width non-joiner inside a word is accepted",
      async () => expectStatus(await t.post("/register", { ...newUser(), firstName: "می\u200cخواهم" }), 201),
    ],
    [
      "x@münchen.de registers, stored as x@xn--mnchen-3ya.de; the ASCII spelling is then a 409",
      async () => {
        const name = local();
        const res = await t.post("/register", { ...newUser(), email: `${name}@münchen.de` });
        expectStatus(res, 201);
        const created = JSON.parse(res.text);
        check(created.email === `${name}@xn--mnchen-3ya.de`, `stored ${created.email}`);
        expectError(
          await t.post("/register", { ...newUser(), email: `${name}@xn--mnchen-3ya.de` }),
          409,
          "user_exists",
        );
        expectError(await t.post("/register", { ...newUser(), email: `${name}@MÜNCHEN.DE` }), 409, "user_exists");
      },
    ],
    [
      "login works with either spelling of an internationalized domain",
      async () => {
        const name = local();
        const user = await t.register({ ...newUser(), email: `${name}@xn--mnchen-3ya.de` });
        for (const email of [`${name}@münchen.de`, `${name}@xn--mnchen-3ya.de`, ` ${name.toUpperCase()}@MÜNCHEN.de `]) {
          const res = await t.post("/login", { email, password: user.password });
          expectStatus(res, 200);
          check(JSON.parse(res.text).id === user.id, "another account");
        }
      },
    ],
    [
      "a non-ASCII local part (RFC 6531) -> 400 whose message says the part before @ must be ASCII",
      async () => {
        const error = expectError(
          await t.post("/register", { ...newUser(), email: `jörg-${local()}@example.com` }),
          400,
          "invalid_input",
        );
        check(/before @ in ASCII/.test(error.message), `message "${error.message}"`);
      },
    ],
    [
      "an internationalized domain with a zero-width space or an undecodable A-label -> 400 invalid_input",
      async () => {
        for (const domain of ["mün\u200bchen.de", "xn--a.de", "mü%6echen.de"]) {
          expectError(await t.post("/register", { ...newUser(), email: `${local()}@${domain}` }), 400, "invalid_input");
        }
      },
    ],
  ];
}

function sessionCases(t, options) {
  const pair = (res) => {
    expectStatus(res, 200);
    check(res.headers["cache-control"] === "no-store", `Cache-Control: ${res.headers["cache-control"]}`);
    return JSON.parse(res.text);
  };
  const refresh = (token) => t.post("/token/refresh", { refresh_token: token });
  return [
    [
      "two parallel refreshes with the same token: both 200, same session, both pairs work, the session lives",
      async () => {
        const user = await t.register();
        const answers = await Promise.all([refresh(user.refresh_token), refresh(user.refresh_token)]);
        const pairs = answers.map(pair);
        check(pairs[0].refresh_token !== pairs[1].refresh_token, "the same refresh token twice");
        for (const next of pairs) {
          check(claimsOf(next.token).sid === claimsOf(user.token).sid, "another session");
          await t.me(next.token);
          pair(await refresh(next.refresh_token));
        }
      },
    ],
    [
      "a retry after a lost response (same token again at once) -> 200, nothing revoked",
      async () => {
        const user = await t.register();
        const lost = pair(await refresh(user.refresh_token));
        const retried = pair(await refresh(user.refresh_token));
        await t.me(lost.token);
        await t.me(retried.token);
        pair(await refresh(retried.refresh_token));
        pair(await refresh(lost.refresh_token));
      },
    ],
    [
      "a rotated token presented after REFRESH_REUSE_INTERVAL -> 401 and the whole session revoked",
      async () => {
        if (!options.reuseInterval)
          throw new Skip("needs --reuse-interval (the server's REFRESH_REUSE_INTERVAL, a few seconds)");
        const user = await t.register();
        const legit = pair(await refresh(user.refresh_token));
        await new Promise((resolve) => setTimeout(resolve, options.reuseInterval * 1000 + 1000));
        expectError(await refresh(user.refresh_token), 401, "invalid_token");
        expectError(await refresh(legit.refresh_token), 401, "invalid_token");
        expectError(await t.get("/me", t.bearer(legit.token)), 401, "invalid_token");
      },
    ],
  ];
}

function tokenCases(t, options, attacker) {
  const holder = once(() => t.register());
  /** A session logged out with POST /logout: its access token must stay dead. */
  const revoked = once(async () => {
    const { email, password } = await holder();
    const res = await t.post("/login", { email, password });
    expectStatus(res, 200);
    const pair = JSON.parse(res.text);
    expectStatus(await t.request("POST", "/logout", { headers: t.bearer(pair.token) }), 204);
    return pair;
  });
  const now = () => Math.floor(Date.now() / 1000);
  const claims = async (changes = {}) => {
    const base = claimsOf((await holder()).token);
    return { ...base, iat: now(), exp: now() + 300, ...changes };
  };
  const forged = async (header, changes, key = "attacker-key") =>
    signJwt({ alg: "HS256", typ: "JWT", ...header }, await claims(changes), key);
  /** Needs the server's key; skipped without --token-key. */
  const sign = async (header, changes = {}, hash) =>
    signJwt({ alg: "HS256", typ: "JWT", ...header }, await claims(changes), options.tokenKey, hash);
  /** A wrong key would make every signed case pass for the wrong reason (bad signature). */
  const keyMatches = once(async () => (await t.get("/me", t.bearer(await sign({})))).status === 200);
  const signed = async (header, changes, hash) => {
    if (!options.tokenKey) throw new Skip("needs --token-key");
    check(await keyMatches(), "--token-key is not the server's TOKEN_KEY: a token signed with it is refused");
    return sign(header, changes, hash);
  };
  const refused = async (path, headers) => expectError(await t.get(path, headers), 401, "invalid_token");
  const required = async (path, headers) => expectError(await t.get(path, headers), 403, "token_required");
  const basic = `Basic ${Buffer.from("admin:hunter2").toString("base64")}`;
  const cases = [
    ["Basic credentials on /welcome -> 403 token_required", async () => required("/welcome", { authorization: basic })],
    ["Basic credentials on /me -> 403 token_required", async () => required("/me", { authorization: basic })],
    [
      "a valid token under the Token scheme on /welcome -> 403 token_required",
      async () => required("/welcome", { authorization: `Token ${(await holder()).token}` }),
    ],
    [
      "a valid token under the Token scheme on /me -> 403 token_required",
      async () => required("/me", { authorization: `Token ${(await holder()).token}` }),
    ],
    [
      "Basic credentials plus x-access-token on /welcome -> 200 (the other token counts)",
      async () =>
        expectStatus(await t.get("/welcome", { authorization: basic, "x-access-token": (await holder()).token }), 200),
    ],
    ["empty Authorization on /welcome -> 403 token_required", async () => required("/welcome", { authorization: "" })],
    ["empty Authorization on /me -> 403 token_required", async () => required("/me", { authorization: "" })],
    ['"Bearer" with no token -> 401 invalid_token', async () => refused("/welcome", { authorization: "Bearer   " })],
    [
      "two Authorization headers on /me -> 401 invalid_token",
      async () => {
        const { token } = await holder();
        await refused("/me", { authorization: [`Bearer ${token}`, `Bearer ${token}`] });
      },
    ],
    [
      "two Authorization headers on /welcome -> 401 invalid_token",
      async () => {
        const { token } = await holder();
        await refused("/welcome", { authorization: [`Bearer ${token}`, "Bearer x.y.z"] });
      },
    ],
    [
      "two tokens in one Bearer header -> 401 invalid_token",
      async () => {
        const { token } = await holder();
        await refused("/welcome", { authorization: `Bearer ${token} ${token}` });
      },
    ],
    [
      "9 KB token on /welcome -> 401 invalid_token",
      async () => refused("/welcome", t.bearer(`${(await holder()).token}${"A".repeat(9 * 1024)}`)),
    ],
    [
      "9 KB token on /me -> 401 invalid_token",
      async () => refused("/me", t.bearer(`${"A".repeat(9 * 1024)}.${"B".repeat(10)}.${"C".repeat(43)}`)),
    ],
    [
      "100 KB Authorization header -> 401 or 431, never accepted",
      async () => {
        const res = await t.get("/welcome", t.bearer("A".repeat(100 * 1024)));
        expectStatus(res, [401, 431]);
        if (res.status === 401) expectEnvelope(res, "invalid_token");
      },
    ],
    [
      'alg "none" without signature on /welcome -> 401 invalid_token',
      async () => {
        const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(await claims())}.`;
        await refused("/welcome", t.bearer(token));
      },
    ],
    [
      'alg "none" on /me -> 401 invalid_token',
      async () => refused("/me", t.bearer(`${b64url({ alg: "none" })}.${b64url(await claims())}.`)),
    ],
    [
      'alg "NONE" with a real signature -> 401 invalid_token',
      async () => {
        const [, payload, signature] = (await holder()).token.split(".");
        await refused("/welcome", t.bearer(`${b64url({ alg: "NONE", typ: "JWT" })}.${payload}.${signature}`));
      },
    ],
    [
      "payload changed to role admin, signature kept -> 401 invalid_token",
      async () => {
        const [header, , signature] = (await holder()).token.split(".");
        await refused("/me", t.bearer(`${header}.${b64url(await claims({ role: "admin" }))}.${signature}`));
      },
    ],
    [
      "unknown kid, signed with an attacker's key -> 401 invalid_token",
      async () => refused("/welcome", t.bearer(await forged({ kid: "attacker" }))),
    ],
    [
      "kid ../../../../dev/null, signed with an empty key -> 401 invalid_token",
      async () => refused("/me", t.bearer(await forged({ kid: "../../../../../../dev/null" }, {}, ""))),
    ],
    [
      "kid with SQL injection selecting the attacker's key -> 401 invalid_token",
      async () => refused("/me", t.bearer(await forged({ kid: "x' UNION SELECT 'attacker-key' --" }))),
    ],
    [
      "jku pointing at the attacker's JWKS -> 401 invalid_token, never fetched",
      async () => {
        const before = attacker.hits();
        await refused("/me", t.bearer(await forged({ kid: "attacker", jku: await attacker.url("jwks.json") })));
        check(attacker.hits() === before, "the server fetched the jku URL");
      },
    ],
    [
      "x5u pointing at the attacker's host -> 401 invalid_token, never fetched",
      async () => {
        const before = attacker.hits();
        await refused("/welcome", t.bearer(await forged({ x5u: await attacker.url("cert.pem") })));
        check(attacker.hits() === before, "the server fetched the x5u URL");
      },
    ],
    [
      "the attacker's key embedded as a jwk header -> 401 invalid_token",
      async () => {
        const jwk = { kty: "oct", k: b64url("attacker-key"), kid: "attacker" };
        await refused("/me", t.bearer(await forged({ jwk, kid: "attacker" })));
      },
    ],
    [
      "a logged-out session's access token -> 401 on /me",
      async () => refused("/me", t.bearer((await revoked()).token)),
    ],
    [
      'the logged-out token with "=" appended -> 401 on /me',
      async () => refused("/me", t.bearer(`${(await revoked()).token}=`)),
    ],
    [
      'the logged-out token with "==" appended -> 401 on /me',
      async () => refused("/me", t.bearer(`${(await revoked()).token}==`)),
    ],
    [
      "the logged-out token with its last character changed in unused bits -> 401 on /me",
      async () => refused("/me", t.bearer(lowBitsVariant((await revoked()).token))),
    ],
    [
      "the logged-out session's refresh token -> 401 invalid_token",
      async () =>
        expectError(
          await t.post("/token/refresh", { refresh_token: (await revoked()).refresh_token }),
          401,
          "invalid_token",
        ),
    ],
    ...nonCanonical(t, holder),
    // Validly signed but malformed: these need the server's key.
    [
      "a token signed with --token-key is accepted (the key matches the server)",
      async () => expectStatus(await t.get("/me", t.bearer(await signed({}))), 200),
    ],
    [
      "jku and x5u on a validly signed token: the server's own key decides, nothing fetched",
      async () => {
        const before = attacker.hits();
        const header = { jku: await attacker.url("jwks.json"), x5u: await attacker.url("cert.pem") };
        const res = await t.get("/me", t.bearer(await signed(header)));
        expectStatus(res, [200, 401]);
        check(attacker.hits() === before, "the server fetched a URL named in the token");
      },
    ],
    [
      'crit ["urn:hostile"] on a validly signed token -> 401 invalid_token',
      async () => refused("/me", t.bearer(await signed({ crit: ["urn:hostile"], "urn:hostile": true }))),
    ],
    [
      'crit ["exp"] on /welcome -> 401 invalid_token',
      async () => refused("/welcome", t.bearer(await signed({ crit: ["exp"] }))),
    ],
    [
      "HS512 with the right key -> 401 (alg is pinned)",
      async () => refused("/me", t.bearer(await signed({ alg: "HS512" }, {}, "sha512"))),
    ],
    [
      "exp as a string -> 401 on /welcome",
      async () => refused("/welcome", t.bearer(await signed({}, { exp: String(now() + 300) }))),
    ],
    [
      "exp as a string -> 401 on /me",
      async () => refused("/me", t.bearer(await signed({}, { exp: String(now() + 300) }))),
    ],
    ["exp as an array -> 401", async () => refused("/welcome", t.bearer(await signed({}, { exp: [now() + 300] })))],
    ["exp 1e308 -> 401", async () => refused("/welcome", t.bearer(await signed({}, { exp: 1e308 })))],
    ["exp 1e308 on /me -> 401", async () => refused("/me", t.bearer(await signed({}, { exp: 1e308 })))],
    ["missing exp on /welcome -> 401", async () => refused("/welcome", t.bearer(await signed({}, { exp: undefined })))],
    ["missing exp on /me -> 401", async () => refused("/me", t.bearer(await signed({}, { exp: undefined })))],
    [
      "exp in the past -> 401",
      async () => refused("/me", t.bearer(await signed({}, { iat: now() - 600, exp: now() - 1 }))),
    ],
    [
      "a lifetime over 30 days -> 401",
      async () => refused("/welcome", t.bearer(await signed({}, { exp: now() + 31 * 86400 }))),
    ],
    ["nbf an hour ahead -> 401", async () => refused("/me", t.bearer(await signed({}, { nbf: now() + 3600 })))],
    [
      "iat 120 s in the future -> 401 on /welcome",
      async () => refused("/welcome", t.bearer(await signed({}, { iat: now() + 120 }))),
    ],
    [
      "iat 60 s in the future -> 401 on /me",
      async () => refused("/me", t.bearer(await signed({}, { iat: now() + 60 }))),
    ],
    [
      "iat 10 s in the future is within the clock-skew allowance -> 200",
      async () => expectStatus(await t.get("/me", t.bearer(await signed({}, { iat: now() + 10 }))), 200),
    ],
    ["iat as a string -> 401", async () => refused("/welcome", t.bearer(await signed({}, { iat: String(now()) })))],
    [
      'a signed role "admin" claim changes nothing: /me says "user", /admin/users 403',
      async () => {
        const token = await signed({}, { role: "admin" });
        const account = await t.me(token);
        check(account.role === "user", `role ${account.role}`);
        expectError(await t.get("/admin/users", t.bearer(token)), 403, "forbidden");
      },
    ],
    [
      "another sub with this session's sid -> 401 on /me",
      async () => refused("/me", t.bearer(await signed({}, { sub: randomUUID(), user_id: undefined }))),
    ],
    ["no sid -> 401 on /me", async () => refused("/me", t.bearer(await signed({}, { sid: undefined })))],
  ];
  return cases;
}

/** A live token spelled in a way that lenient base64url decoders read as the same bytes:
 * each must be refused, on every transport, where the token as issued works. */
function nonCanonical(t, holder) {
  const spell = {
    '"=" after the signature': (token) => `${token}=`,
    '"==" after the signature': (token) => `${token}==`,
    "a padded payload segment": (token) => {
      const [header, payload, signature] = token.split(".");
      return `${header}.${payload}${"=".repeat((4 - (payload.length % 4)) % 4 || 1)}.${signature}`;
    },
    "stray low bits in the signature's last character": (token) => lowBitsVariant(token),
    "standard base64 (+ /) instead of base64url": (token) =>
      token.includes("-") || token.includes("_") ? token.replace(/-/g, "+").replace(/_/g, "/") : `${token}+`,
  };
  const refused = (res, label) => {
    check(res.status === 401, `${label}: ${describe(res)}`);
    expectEnvelope(res, "invalid_token");
  };
  return [
    [
      "the live token as issued works on /welcome and /me (control)",
      async () => {
        const { token } = await holder();
        expectStatus(await t.get("/welcome", t.bearer(token)), 200);
        expectStatus(await t.get("/me", t.bearer(token)), 200);
      },
    ],
    ...Object.entries(spell).map(([label, change]) => [
      `a live token with ${label} -> 401 invalid_token (Bearer, x-access-token, body; /welcome and /me)`,
      async () => {
        const variant = change((await holder()).token);
        refused(await t.get("/welcome", t.bearer(variant)), "Bearer /welcome");
        refused(await t.get("/me", t.bearer(variant)), "Bearer /me");
        refused(await t.get("/welcome", { "x-access-token": variant }), "x-access-token /welcome");
        refused(await t.get("/me", { "x-access-token": variant }), "x-access-token /me");
        refused(await t.post("/welcome", { token: variant }), "body /welcome");
      },
    ]),
    [
      "a live token with whitespace inside, in the body -> 401 invalid_token",
      async () => {
        const { token } = await holder();
        for (const variant of [` ${token}`, `${token}\n`, token.replace(".", ". "), token.replace(".", "\t.")]) {
          refused(await t.post("/welcome", { token: variant }), JSON.stringify(variant.slice(0, 12)));
        }
      },
    ],
  ];
}

function corsCases(t, options) {
  const allowlisted = options.allowlistOrigin;
  const star = (label, run) => [
    label,
    async () => {
      if (allowlisted) throw new Skip("the server has a CORS allowlist");
      await run();
    },
  ];
  const listed = (label, run) => [
    label,
    async () => {
      if (!allowlisted) throw new Skip("needs --allowlist-origin");
      await run();
    },
  ];
  const preflight = (origin, headers = {}) =>
    t.request("OPTIONS", "/login", {
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
        ...headers,
      },
    });
  const noCredentialsWithStar = (res) =>
    check(
      !(
        res.headers["access-control-allow-origin"] === "*" && res.headers["access-control-allow-credentials"] === "true"
      ),
      `Access-Control-Allow-Credentials: true together with *: ${describe(res)}`,
    );
  const onlyStar = (res) => {
    noCredentialsWithStar(res);
    check(res.headers["access-control-allow-origin"] === "*", `ACAO "${res.headers["access-control-allow-origin"]}"`);
  };
  /** A near-miss of the allowed origin gets no CORS grant at all, on a preflight and a real request. */
  const notEchoed = async (origin) => {
    for (const res of [await preflight(origin), await t.get("/health", { origin })]) {
      const granted = res.headers["access-control-allow-origin"];
      check(granted === undefined, `origin ${JSON.stringify(origin)} got Access-Control-Allow-Origin "${granted}"`);
      check(res.headers["access-control-allow-credentials"] === undefined, "credentials granted");
    }
  };
  const variant = (change) => async () => {
    const url = new URL(allowlisted);
    await notEchoed(change(url, allowlisted));
  };
  return [
    star("preflight from Origin: null gets * only", async () => {
      const res = await preflight("null");
      expectStatus(res, 204);
      onlyStar(res);
    }),
    star("GET with Origin: null gets * only", async () => onlyStar(await t.get("/health", { origin: "null" }))),
    star("POST /login from another site gets *, never the origin or credentials", async () => {
      const res = await t.post(
        "/login",
        { email: newUser().email, password: "x-hostile-1" },
        { origin: "https://evil.example", cookie: "session=1" },
      );
      expectError(res, 400, "invalid_credentials");
      onlyStar(res);
    }),
    [
      "100 KB Access-Control-Request-Headers answered in < 1 s and not echoed",
      async () => {
        const junk = `x-hostile-${"a".repeat(40)},`.repeat(2_000);
        const res = await preflight(allowlisted ?? "https://any.example", { "access-control-request-headers": junk });
        expectStatus(res, 204);
        check(res.ms < PREFLIGHT_BUDGET_MS, `took ${Math.round(res.ms)} ms`);
        const allowed = res.headers["access-control-allow-headers"] ?? "";
        check(!allowed.includes("x-hostile-") && allowed.length < 1024, `echoed: ${allowed.slice(0, 80)}`);
        noCredentialsWithStar(res);
      },
    ],
    [
      "a request Vary header is not echoed (GET)",
      async () => {
        const res = await t.get("/health", { origin: "https://any.example", vary: "X-Hostile-Vary, Cookie" });
        check(!/x-hostile-vary/i.test(String(res.headers.vary ?? "")), `Vary: ${res.headers.vary}`);
      },
    ],
    [
      "a request Vary header is not echoed (preflight)",
      async () => {
        const res = await preflight(allowlisted ?? "https://any.example", { vary: "X-Hostile-Vary" });
        check(!/x-hostile-vary/i.test(String(res.headers.vary ?? "")), `Vary: ${res.headers.vary}`);
      },
    ],
    [
      "never Access-Control-Allow-Credentials: true together with *",
      async () => {
        const origin = allowlisted ?? "https://evil.example";
        for (const res of [
          await preflight(origin, { cookie: "session=1" }),
          await t.get("/welcome", { origin, cookie: "session=1" }),
        ]) {
          noCredentialsWithStar(res);
        }
      },
    ],
    listed("the allowlisted origin itself is echoed with Vary: Origin (control)", async () => {
      const res = await preflight(allowlisted);
      expectStatus(res, 204);
      check(res.headers["access-control-allow-origin"] === allowlisted, "allowed origin not echoed");
      check(/\borigin\b/i.test(String(res.headers.vary ?? "")), `Vary: ${res.headers.vary}`);
    }),
    listed(
      "ORIGIN.evil.com suffix is never echoed",
      variant((_, origin) => `${origin}.evil.com`),
    ),
    listed(
      "the other scheme is never echoed",
      variant((url) => `${url.protocol === "https:" ? "http:" : "https:"}//${url.host}`),
    ),
    listed(
      "another port is never echoed",
      variant((url) => `${url.protocol}//${url.hostname}:${url.port === "8443" ? "8444" : "8443"}`),
    ),
    listed(
      "an upper-case variant is never echoed",
      variant((_, origin) => origin.toUpperCase()),
    ),
    listed(
      "a mixed-case host is never echoed",
      variant((url) => `${url.protocol}//${url.host.charAt(0).toUpperCase()}${url.host.slice(1)}`),
    ),
    listed(
      "a trailing slash is never echoed",
      variant((_, origin) => `${origin}/`),
    ),
    listed(
      "null is never echoed",
      variant(() => "null"),
    ),
    listed(
      "a subdomain is never echoed",
      variant((url) => `${url.protocol}//evil.${url.host}`),
    ),
    listed(
      "a prefixed host is never echoed",
      variant((url) => `${url.protocol}//evil${url.host}`),
    ),
    listed(
      "userinfo tricks are never echoed",
      variant((_, origin) => `${origin}@evil.com`),
    ),
  ];
}

function httpCases(t) {
  const notAllowed = (method, path, mustAllow) => [
    `${method} ${path} -> 405 method_not_allowed with Allow`,
    async () => {
      const res = await t.request(method, path, {
        headers: method === "GET" || method === "HEAD" ? {} : { "content-type": "application/json" },
        body: method === "GET" || method === "HEAD" ? undefined : "{}",
      });
      expectError(res, 405, "method_not_allowed");
      const allow = String(res.headers.allow ?? "").split(/\s*,\s*/);
      check(
        mustAllow.every((m) => allow.includes(m)) && !allow.includes(method),
        `Allow: ${res.headers.allow} (wanted ${mustAllow.join(", ")}, never ${method})`,
      );
    },
  ];
  const trace = (path) => [
    `TRACE ${path} is refused and echoes nothing`,
    async () => {
      const secret = `hostile-${randomUUID()}`;
      const res = await t.request("TRACE", path, { headers: { authorization: `Bearer ${secret}`, cookie: secret } });
      check(res.status >= 400 && res.status < 500, `TRACE answered ${res.status}`);
      check(!res.text.includes(secret), "TRACE echoed the request");
    },
  ];
  const notFound = (method, path) => [
    `${method} ${path.length > 40 ? `${path.slice(0, 40)}…` : path} -> 404 not_found`,
    async () => expectError(await t.request(method, path), 404, "not_found"),
  ];
  return [
    notAllowed("PUT", "/register", ["POST"]),
    notAllowed("DELETE", "/login", ["POST"]),
    notAllowed("PATCH", "/welcome", ["GET", "POST"]),
    notAllowed("PUT", "/me", ["GET", "PATCH", "DELETE"]),
    notAllowed("GET", "/token/refresh", ["POST"]),
    notAllowed("POST", "/health", ["GET"]),
    notAllowed("GET", "/logout", ["POST"]),
    notAllowed("PATCH", "/sessions/some-id", ["DELETE"]),
    notAllowed("PROPFIND", "/me", ["GET"]),
    trace("/welcome"),
    trace("/login"),
    trace("/no-such-path"),
    notFound("GET", "/no-such-path"),
    notFound("POST", "/registerx"),
    notFound("GET", "/%2e%2e/%2e%2e/etc/passwd"),
    notFound("GET", "//register"),
    notFound("GET", "/welcome%00"),
    notFound("GET", `/${"a".repeat(8000)}`),
    [
      "POST /register/ (trailing slash) is not a 405 that lists POST in Allow",
      async () => {
        const res = await t.post("/register/", {});
        const allow = String(res.headers.allow ?? "").split(/\s*,\s*/);
        check(!(res.status === 405 && allow.includes("POST")), `405 with Allow: ${res.headers.allow}`);
        expectError(res, [400, 404], ["not_found", "invalid_input"]);
      },
    ],
  ];
}

function headerCases(t) {
  const secured = (res, json = true) => {
    const h = res.headers;
    check(h["x-content-type-options"] === "nosniff", `X-Content-Type-Options: ${h["x-content-type-options"]}`);
    check(Boolean(h["referrer-policy"]), "no Referrer-Policy");
    check(/max-age=\d+/.test(h["strict-transport-security"] ?? ""), "no Strict-Transport-Security");
    if (json) check(/default-src 'none'/.test(h["content-security-policy"] ?? ""), "no CSP default-src 'none'");
  };
  const kind = (label, make, json = true) => [label, async () => secured(await make(), json)];
  const user = once(() => t.register());
  return [
    kind("200 GET /health", async () => {
      const res = await t.get("/health");
      expectStatus(res, 200);
      return res;
    }),
    kind("200 text /welcome", async () => {
      const res = await t.get("/welcome", t.bearer((await user()).token));
      expectStatus(res, 200);
      return res;
    }),
    kind("201 POST /register", async () => {
      const res = await t.post("/register", newUser());
      expectStatus(res, 201);
      return res;
    }),
    kind(
      "204 POST /logout",
      async () => {
        const { email, password } = await user();
        const { token } = JSON.parse((await t.post("/login", { email, password })).text);
        const res = await t.request("POST", "/logout", { headers: t.bearer(token) });
        expectStatus(res, 204);
        return res;
      },
      false,
    ),
    kind("204 preflight", async () => {
      const res = await t.request("OPTIONS", "/register", {
        headers: { origin: "https://any.example", "access-control-request-method": "POST" },
      });
      expectStatus(res, 204);
      return res;
    }),
    kind("400 invalid_json", async () => {
      const res = await t.post("/login", "{");
      expectError(res, 400, "invalid_json");
      return res;
    }),
    kind("401 invalid_token", async () => {
      const res = await t.get("/me", t.bearer("x.y.z"));
      expectError(res, 401, "invalid_token");
      return res;
    }),
    kind("403 token_required", async () => {
      const res = await t.get("/welcome");
      expectError(res, 403, "token_required");
      return res;
    }),
    kind("404 not_found", async () => {
      const res = await t.get("/nope");
      expectError(res, 404, "not_found");
      return res;
    }),
    kind("405 method_not_allowed", async () => {
      const res = await t.request("PUT", "/login");
      expectError(res, 405, "method_not_allowed");
      return res;
    }),
    kind("413 payload_too_large", async () => {
      const res = await t.post("/login", { email: "a".repeat(BODY_LIMIT), password: "x" });
      expectError(res, 413, "payload_too_large");
      return res;
    }),
    kind("415 unsupported_media_type", async () => {
      const res = await t.post("/login", "{}", { "content-type": "text/plain" });
      expectError(res, 415, "unsupported_media_type");
      return res;
    }),
  ]
    .map(([label, run]) => [`secure headers on ${label}`, run])
    .concat(cachingCases(t, user));
}

/** Cache-Control: `no-store` on every answer to an authenticated request and every answer
 * with a token or account data, errors included; the public documents keep their own. */
function cachingCases(t, user) {
  const noStore = (label, make) => [
    `Cache-Control: no-store on ${label}`,
    async () => {
      const res = await make();
      check(
        res.headers["cache-control"] === "no-store",
        `Cache-Control "${res.headers["cache-control"]}": ${describe(res)}`,
      );
    },
  ];
  const authed = async (method, path, body) => {
    const headers = { ...t.bearer((await user()).token) };
    if (body !== undefined) headers["content-type"] = "application/json";
    return t.request(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  const own = (path, expected) => [
    `${path} keeps its own Cache-Control: ${expected}`,
    async () => {
      const res = await t.get(path);
      expectStatus(res, 200);
      check(res.headers["cache-control"] === expected, `Cache-Control "${res.headers["cache-control"]}"`);
    },
  ];
  return [
    noStore("200 GET /me", () => authed("GET", "/me")),
    noStore("200 GET /sessions", () => authed("GET", "/sessions")),
    noStore("200 PATCH /me", () => authed("PATCH", "/me", { lastName: "Tester" })),
    noStore("400 PATCH /me", () => authed("PATCH", "/me", {})),
    noStore("403 GET /admin/users (not an admin)", () => authed("GET", "/admin/users")),
    noStore("200 text GET /welcome", () => authed("GET", "/welcome")),
    noStore("401 GET /me with a bad token", () => t.get("/me", t.bearer("x.y.z"))),
    noStore("403 GET /sessions without a token", () => t.get("/sessions")),
    noStore("400 POST /login", () => t.post("/login", { email: newUser().email, password: "wrong-pass-1" })),
    noStore("401 POST /token/refresh", () => t.post("/token/refresh", { refresh_token: "bogus" })),
    noStore("404", () => t.get("/nope")),
    own("/openapi.json", "no-cache"),
    own("/docs", "no-cache"),
    own("/.well-known/jwks.json", "public, max-age=300"),
  ];
}

function abuseCases(t, client) {
  const common = (password) => [
    `common password ${JSON.stringify(password)} -> 400 "This password is too common", nothing written`,
    async () => {
      const user = { ...newUser(), password };
      const error = expectError(await t.post("/register", user), 400, "invalid_input");
      check(error.message === "This password is too common", `message "${error.message}"`);
      await t.expectRegistrable(user.email);
    },
  ];
  /** The same email in another letter case on each call. */
  const caseOf = (email, i) =>
    [email.toUpperCase(), email.toLowerCase(), email.replace(/^./, (c) => c.toUpperCase())][i % 3];
  const fail = async (email, times, ip) => {
    for (let i = 0; i < times; i++) {
      const headers = ip ? { "cf-connecting-ip": ip() } : {};
      expectError(await t.post("/login", { email: caseOf(email, i), password: `wrong-${i}-x` }, headers), 400, [
        "invalid_credentials",
      ]);
    }
  };
  const locked = (res) => {
    expectError(res, 429, "rate_limited");
    expectRetryAfter(res);
  };
  /** A refresh burst from one CF-Connecting-IP, until 429. */
  /** Sends refreshes, the address of each from `address(i)`, until a 429; returns the `i`
   * of the 429. The limiter counts in windows aligned to the clock minute, so a burst
   * starts after the boundary when it is near, and one that straddles a boundary anyway
   * (a loaded machine answers slowly) is sent once more. */
  const burst = async (address, attempt = 1) => {
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 4_000) await new Promise((resolve) => setTimeout(resolve, left + 250));
    const window = Math.floor(Date.now() / 60_000);
    for (let i = 1; i <= REFRESH_BURST; i++) {
      const res = await client.request("POST", "/token/refresh", {
        headers: { "content-type": "application/json", "cf-connecting-ip": address(i) },
        body: JSON.stringify({ refresh_token: `bogus-${i}` }),
      });
      if (res.status === 429) {
        locked(res);
        return i;
      }
      expectError(res, 401, "invalid_token");
    }
    if (attempt === 1 && Math.floor(Date.now() / 60_000) !== window) return burst(address, 2);
    throw new Error(`${REFRESH_BURST} refreshes and no 429`);
  };
  /** A refresh burst from one CF-Connecting-IP, until 429. */
  const limitedIp = once(async () => {
    const ip = randomIp();
    return { ip, after: await burst(() => ip) };
  });
  const group = () => randomInt(0, 0x10000).toString(16);
  /** A random /64 of the documentation range 2001:db8::/32, limited by one burst. */
  const limitedPrefix = once(async () => {
    const prefix = `2001:db8:${group()}:${group()}`;
    const after = await burst(() => `${prefix}:${group()}:${group()}:${group()}:${group()}`);
    return { prefix, after };
  });
  const stillLimited = (header) => [
    `changing ${header} while keeping CF-Connecting-IP does not reset the limit`,
    async () => {
      const { ip } = await limitedIp();
      for (let i = 0; i < 3; i++) {
        locked(
          await t.post("/token/refresh", { refresh_token: "bogus" }, { "cf-connecting-ip": ip, [header]: randomIp() }),
        );
      }
    },
  ];
  return [
    common("Password123"),
    common("qwerty123"),
    common("1qaz2wsx"),
    common("PASSW0RD"),
    common("iLoveYou"),
    [
      "5 failed logins (mixed letter case), then the correct password -> 429 rate_limited",
      async () => {
        const user = await t.register(newUser("Lock"));
        await fail(user.email, 5);
        locked(await t.post("/login", { email: user.email, password: user.password }));
      },
    ],
    [
      "5 failed logins from rotating IPs, then the correct password -> 429 with Retry-After",
      async () => {
        const user = await t.register(newUser("Lock"));
        await fail(user.email, 5, randomIp);
        locked(await t.post("/login", { email: caseOf(user.email, 2), password: user.password }));
      },
    ],
    [
      "an unregistered email: 5 failures, then the 6th attempt -> 429, same answer as a registered one",
      async () => {
        const email = newUser("Ghost").email;
        await fail(email, 5);
        locked(await t.post("/login", { email, password: "wrong-6-x" }));
      },
    ],
    [
      "an unregistered email locked by failures can still register (201), then log in",
      async () => {
        const user = newUser("Squat");
        await fail(user.email, 5);
        locked(await t.post("/login", { email: user.email, password: "wrong-7-x" }));
        expectStatus(await t.post("/register", { ...user, email: user.email.toUpperCase() }), 201);
        expectStatus(await t.post("/login", { email: user.email, password: user.password }), 200);
      },
    ],
    [
      `per-IP limit: at most ${REFRESH_BURST} bogus refreshes from one CF-Connecting-IP before 429 with Retry-After`,
      async () => {
        const { after } = await limitedIp();
        check(after <= REFRESH_BURST, `429 after ${after}`);
      },
    ],
    stillLimited("x-forwarded-for"),
    stillLimited("x-real-ip"),
    stillLimited("true-client-ip"),
    [
      "per-IP limit per IPv6 /64: random interface ids in one /64 get 429 from request 101 on",
      async () => {
        const { after } = await limitedPrefix();
        check(after <= 101, `first 429 at request ${after}`);
      },
    ],
    [
      "the limited /64 in other spellings (upper case, zero padding, ::) is still limited",
      async () => {
        const { prefix } = await limitedPrefix();
        const [a, b, c, d] = prefix.split(":");
        for (const address of [
          `${prefix}::1`.toUpperCase(),
          [a, b, c, d, "0", "0", "0", "1"].map((g) => g.padStart(4, "0")).join(":"),
          `${prefix}::`,
          `${prefix}:ffff:ffff:ffff:ffff`,
        ]) {
          locked(await t.post("/token/refresh", { refresh_token: "bogus" }, { "cf-connecting-ip": address }));
        }
      },
    ],
    [
      "a neighbouring /64 is not limited",
      async () => {
        const { prefix } = await limitedPrefix();
        const parts = prefix.split(":");
        parts[3] = ((Number.parseInt(parts[3], 16) + 1) % 0x10000).toString(16);
        const res = await t.post(
          "/token/refresh",
          { refresh_token: "bogus" },
          { "cf-connecting-ip": `${parts.join(":")}::1` },
        );
        expectError(res, 401, "invalid_token");
      },
    ],
    [
      "the limited IPv4 address written IPv4-mapped (::ffff:a.b.c.d, either case, hex) is still limited",
      async () => {
        const { ip } = await limitedIp();
        const [a, b, c, d] = ip.split(".").map(Number);
        const hex = (n) => n.toString(16);
        for (const address of [`::ffff:${ip}`, `::FFFF:${ip}`, `::ffff:${hex((a << 8) | b)}:${hex((c << 8) | d)}`]) {
          locked(await t.post("/token/refresh", { refresh_token: "bogus" }, { "cf-connecting-ip": address }));
        }
      },
    ],
    [
      "a fresh malformed CF-Connecting-IP on every request shares one bucket: 429 within 101 requests",
      async () => {
        const after = await burst((i) => `not-an-address-${i}-${randomUUID()}`);
        check(after <= 101, `first 429 at request ${after}`);
      },
    ],
    [
      "another CF-Connecting-IP is not limited",
      async () => {
        await limitedIp();
        expectError(
          await t.post("/token/refresh", { refresh_token: "bogus" }, { "cf-connecting-ip": randomIp() }),
          401,
          "invalid_token",
        );
      },
    ],
  ];
}

// ---------------------------------------------------------------------------- runner

/**
 * Runs the hostile table against `base` (e.g. `http://127.0.0.1:8787`).
 * @param {string} base
 * @param {import("./hostile.d.mts").HostileOptions} [options]
 * @returns {Promise<import("./hostile.d.mts").HostileRun>}
 */
export async function runHostile(base, options = {}) {
  const started = performance.now();
  const client = connect(base);
  try {
    await client.request("GET", "/health");
  } catch (err) {
    client.close();
    throw new Error(`no usable server at ${base}: ${err instanceof Error ? err.message : err}`);
  }
  const attacker = attackerHost();
  const builders = {
    json: jsonCases,
    "content-type": contentTypeCases,
    email: emailCases,
    accounts: accountCases,
    tokens: (t) => tokenCases(t, options, attacker),
    sessions: (t) => sessionCases(t, options),
    cors: (t) => corsCases(t, options),
    http: httpCases,
    headers: headerCases,
    abuse: (t) => abuseCases(t, client),
  };
  const results = [];
  try {
    for (const group of GROUPS) {
      if (options.only && !options.only.includes(group)) continue;
      const t = toolkit(client, randomIp());
      for (const [name, run] of builders[group](t)) {
        const caseStarted = performance.now();
        let outcome = "ok";
        let detail;
        try {
          await run();
        } catch (err) {
          outcome = err instanceof Skip ? "skip" : "fail";
          detail = err instanceof Error ? err.message : String(err);
        }
        const result = { group, name, outcome, detail, ms: Math.round(performance.now() - caseStarted) };
        results.push(result);
        options.onResult?.(result);
      }
    }
  } finally {
    client.close();
    await attacker.close();
  }
  const count = (outcome) => results.filter((result) => result.outcome === outcome).length;
  return {
    results,
    passed: count("ok"),
    failed: count("fail"),
    skipped: count("skip"),
    ms: Math.round(performance.now() - started),
  };
}

function parseArgs(argv) {
  const options = { base: "http://127.0.0.1:8787" };
  const names = {
    "--base": "base",
    "--token-key": "tokenKey",
    "--allowlist-origin": "allowlistOrigin",
    "--only": "only",
    "--reuse-interval": "reuseInterval",
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    if (flag === "--help" || flag === "-h") return { help: true };
    const name = names[flag];
    const value = inline ?? argv[++i];
    if (!name || value === undefined) throw new Error(`unknown or incomplete option ${argv[i] ?? flag}`);
    options[name] = value;
  }
  if (options.reuseInterval !== undefined) {
    options.reuseInterval = Number(options.reuseInterval);
    if (!(options.reuseInterval > 0 && options.reuseInterval <= 60))
      throw new Error("--reuse-interval takes 1 to 60 seconds");
  }
  if (options.only) {
    options.only = options.only.split(",").map((group) => group.trim());
    const unknown = options.only.filter((group) => !GROUPS.includes(group));
    if (unknown.length > 0) throw new Error(`unknown group ${unknown.join(", ")}; groups: ${GROUPS.join(", ")}`);
  }
  return options;
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(
      `${err.message}\nusage: node scripts/hostile.mjs --base URL [--token-key KEY] [--allowlist-origin URL] [--reuse-interval S] [--only GROUPS]`,
    );
    process.exit(2);
  }
  if (options.help) {
    console.log(
      "usage: node scripts/hostile.mjs --base URL [--token-key KEY] [--allowlist-origin URL] [--reuse-interval S] [--only GROUPS]",
    );
    console.log(`groups: ${GROUPS.join(", ")}`);
    return;
  }
  const labels = { ok: "ok  ", fail: "FAIL", skip: "skip" };
  let run;
  try {
    run = await runHostile(options.base, {
      ...options,
      onResult: ({ group, name, outcome, detail }) => {
        console.log(`${labels[outcome]} [${group}] ${name}${outcome === "skip" ? ` (${detail})` : ""}`);
        if (outcome === "fail") console.log(`       ${detail}`);
      },
    });
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  }
  console.log(
    `${run.results.length} cases against ${options.base} in ${(run.ms / 1000).toFixed(1)} s, ${run.skipped} skipped`,
  );
  console.log(`${run.passed} passed, ${run.failed} failed`);
  process.exitCode = run.failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
