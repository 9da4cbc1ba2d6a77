import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, readConfig } from "../src/platform/config";
import { bearer, call, errorOf, newUser, postJson, registered } from "./helpers";

// The mistakes a newcomer makes in the first hour, and answers that say what to do.

const now = () => Math.floor(Date.now() / 1000);

/** Every line the worker logs to console.error while `run` runs. */
async function errorLogs(run: () => Promise<unknown>): Promise<string> {
  const spy = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    await run();
    return spy.mock.calls.map((args) => args.join(" ")).join("\n");
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a database without its tables (plain wrangler dev, no migrations)", () => {
  it("answers 500 server_misconfigured, not a 503 to wait out, and logs the command that fixes it", async () => {
    let res: Response | undefined;
    const logs = await errorLogs(async () => {
      res = await postJson("/register", newUser(), {}, { DB: env.EMPTY_DB });
    });
    expect(res?.status).toBe(500);
    expect(res?.headers.get("retry-after")).toBeNull();
    expect(await errorOf(res as Response)).toEqual({
      code: "server_misconfigured",
      message: "Server is misconfigured: the database migrations have not been applied",
    });
    expect(logs).toContain("npm run db:migrate:local");
    expect(logs).toContain('"event":"server_misconfigured"');
  });

  it("makes /health answer the same 500 instead of 200", async () => {
    let res: Response | undefined;
    const logs = await errorLogs(async () => {
      res = await call("/health", {}, { DB: env.EMPTY_DB });
    });
    expect(res?.status).toBe(500);
    expect((await errorOf(res as Response)).code).toBe("server_misconfigured");
    expect(logs).toContain("npm run db:migrate:local");
  });
});

describe("invalid settings", () => {
  const broken = { TOKEN_KEY: "short", TOKEN_TTL: "forever", BCRYPT_COST: "3", CORS_CREDENTIALS: "yes" };

  it("are all reported at once by readConfig", () => {
    let error: unknown;
    try {
      readConfig({ ...broken, MFA_ENCRYPTION_KEY: "m".repeat(32) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems } = error as ConfigError;
    expect(problems).toHaveLength(4);
    for (const name of Object.keys(broken)) expect(problems.some((problem) => problem.startsWith(name))).toBe(true);
  });

  it("are all named in the 500's log line", async () => {
    let res: Response | undefined;
    const logs = await errorLogs(async () => {
      res = await call("/health", {}, { ...broken });
    });
    expect(res?.status).toBe(500);
    for (const name of Object.keys(broken)) expect(logs).toContain(name);
  });
});

describe("a token where this API does not read it", () => {
  it("without 'Bearer ' gets 403 token_required saying to add it", async () => {
    const { token } = await registered();
    const res = await call("/welcome", { headers: { Authorization: token } });
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toEqual({
      code: "token_required",
      message:
        'A token is required for authentication: the Authorization header holds a bare token; send "Authorization: Bearer <token>"',
    });
  });

  it("in ?token= while ALLOW_QUERY_TOKEN is off gets 403 naming the setting and where tokens go", async () => {
    const { token } = await registered();
    const error = await errorOf(await call(`/welcome?token=${token}`));
    expect(error.code).toBe("token_required");
    expect(error.message).toContain("ALLOW_QUERY_TOKEN");
    expect(error.message).toContain("Authorization: Bearer <token>");
    const me = await errorOf(await call(`/me?token=${token}`));
    expect(me.message).toContain("this route does not read ?token=");
  });

  it("under another scheme gets 403 listing where tokens are read from", async () => {
    const error = await errorOf(await call("/welcome", { headers: { Authorization: `Basic ${btoa("a:b")}` } }));
    expect(error).toEqual({
      code: "token_required",
      message:
        'A token is required for authentication: tokens are read from Authorization: Bearer <token>, the x-access-token header, a JSON body field "token" (POST)',
    });
  });

  it("keeps the tutorial's exact message when no token was sent at all", async () => {
    expect(await errorOf(await call("/welcome"))).toEqual({
      code: "token_required",
      message: "A token is required for authentication",
    });
  });
});

describe("401 answers (RFC 6750)", () => {
  it("carry WWW-Authenticate: Bearer error=invalid_token, and say nothing of why for a forged token", async () => {
    const claims = { sub: "u", user_id: "u", email: "a@example.com", iat: now() - 7200, exp: now() - 60 };
    const forged = await sign(claims, "another-key-that-is-also-32-bytes-or-more", "HS256");
    for (const res of [
      await call("/welcome", { headers: bearer("x.y.z") }),
      await call("/welcome", { headers: bearer(forged) }),
      await call("/me", { headers: bearer(forged) }),
      await postJson("/token/refresh", { refresh_token: "not-a-refresh-token" }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
      expect(await errorOf(res)).toEqual({ code: "invalid_token", message: "Invalid Token" });
    }
  });

  it("tell a genuine expired token that it expired, in the message and error_description", async () => {
    const claims = { sub: "u", user_id: "u", email: "a@example.com", iat: now() - 7200, exp: now() - 60 };
    const expired = await sign(claims, env.TOKEN_KEY, "HS256");
    for (const path of ["/welcome", "/me"]) {
      const res = await call(path, { headers: bearer(expired) });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(
        'Bearer error="invalid_token", error_description="The access token expired"',
      );
      const error = await errorOf(res);
      expect(error.code).toBe("invalid_token");
      expect(error.message).toMatch(/^Invalid Token: it has expired/);
    }
  });
});

describe("snake_case fields copied from a response", () => {
  it("get 400 invalid_input naming the missing field and its expected spelling", async () => {
    const { firstName, lastName, ...rest } = newUser();
    const res = await postJson("/register", { ...rest, first_name: firstName, last_name: lastName });
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({
      code: "invalid_input",
      message: "All input is required: firstName is missing (send firstName, not first_name)",
    });
  });

  it("work for every route's fields, e.g. refreshToken for refresh_token", async () => {
    const res = await postJson("/token/refresh", { refreshToken: "x" });
    expect(await errorOf(res)).toEqual({
      code: "invalid_input",
      message: "All input is required: refresh_token is missing (send refresh_token, not refreshToken)",
    });
  });
});
