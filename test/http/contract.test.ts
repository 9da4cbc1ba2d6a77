import { describe, expect, inject, it } from "vitest";

const { defaults, misconfigured } = inject("servers");

type Json = Record<string, unknown>;

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${defaults}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const email = () => `http-${crypto.randomUUID()}@Example.com`;
const user = () => ({ firstName: "Grace", lastName: "Hopper", email: email(), password: "cobol-1959!" });

describe("the tutorial's flow over real HTTP (npm run dev)", () => {
  it("registers, logs in and is welcomed with each token transport", async () => {
    const input = user();
    const reg = await post("/register", input);
    expect(reg.status).toBe(201);
    expect(reg.headers.get("cache-control")).toBe("no-store");
    const created = (await reg.json()) as Json;
    expect(created.email).toBe(input.email.toLowerCase());
    expect(JSON.stringify(created)).not.toMatch(/password|\$2[aby]\$/i);

    const login = await post("/login", { email: input.email.toUpperCase(), password: input.password });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };

    const bearer = await fetch(`${defaults}/welcome`, { headers: { Authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).toBe("Welcome to FreeCodeCamp 🙌");
    const header = await fetch(`${defaults}/welcome`, { method: "POST", headers: { "x-access-token": token } });
    expect(header.status).toBe(200);
    const body = await post("/welcome", { token });
    expect(body.status).toBe(200);
    const query = await fetch(`${defaults}/welcome?token=${token}`);
    expect(query.status).toBe(403);
  });

  it("answers each error with its status, code and JSON content type", async () => {
    const input = user();
    await post("/register", input);
    const cases: [Promise<Response>, number, string][] = [
      [post("/register", { email: email() }), 400, "invalid_input"],
      [post("/register", input), 409, "user_exists"],
      [post("/login", { email: input.email, password: "wrong-password" }), 400, "invalid_credentials"],
      [fetch(`${defaults}/welcome`), 403, "token_required"],
      [fetch(`${defaults}/welcome`, { headers: { Authorization: "Bearer x.y.z" } }), 401, "invalid_token"],
      [fetch(`${defaults}/missing`), 404, "not_found"],
      [
        fetch(`${defaults}/login`, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }),
        415,
        "unsupported_media_type",
      ],
      [
        fetch(`${defaults}/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
        400,
        "invalid_json",
      ],
      [post("/register", { ...user(), padding: "x".repeat(20_000) }), 413, "payload_too_large"],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, code).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
  });

  it("lets one of 20 simultaneous registrations of an email win", async () => {
    const input = user();
    const statuses = (await Promise.all(Array.from({ length: 20 }, () => post("/register", input)))).map(
      (res) => res.status,
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(19);
  });

  it("refreshes, lists, and logs out a session over the wire", async () => {
    const reg = (await (await post("/register", user())).json()) as { token: string; refresh_token: string };
    const rotated = await post("/token/refresh", { refresh_token: reg.refresh_token });
    expect(rotated.status).toBe(200);
    const pair = (await rotated.json()) as { token: string; refresh_token: string; expires_in: number };
    expect(pair.expires_in).toBe(5 * 3600);
    const auth = { Authorization: `Bearer ${pair.token}` };
    const listed = await fetch(`${defaults}/sessions`, { headers: auth });
    expect(((await listed.json()) as { sessions: { current: boolean }[] }).sessions).toEqual([
      expect.objectContaining({ current: true }),
    ]);
    expect((await fetch(`${defaults}/logout`, { method: "POST", headers: auth })).status).toBe(204);
    expect((await fetch(`${defaults}/me`, { headers: auth })).status).toBe(401);
    expect((await post("/token/refresh", { refresh_token: pair.refresh_token })).status).toBe(401);
  });

  it("answers /health with 200 {status: ok}", async () => {
    const res = await fetch(`${defaults}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("a server started with a bad TOKEN_KEY (--var TOKEN_KEY:too-short)", () => {
  it("fails closed on every route with 500 server_misconfigured", async () => {
    for (const res of [
      await fetch(`${misconfigured}/health`),
      await fetch(`${misconfigured}/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(user()),
      }),
    ]) {
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: "server_misconfigured", message: "Server is misconfigured" } });
    }
  });
});
