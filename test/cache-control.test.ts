import { describe, expect, it } from "vitest";
import { app } from "../src/worker";
import { bearer, call, newUser, postJson, promote } from "./helpers";

/** The public documents, and the caching each one chooses for itself. */
const PUBLIC: Record<string, string> = {
  "/openapi.json": "no-cache",
  "/docs": "no-cache",
  "/.well-known/jwks.json": "public, max-age=300",
  "/login/social": "public, max-age=60",
};

/** Every route the app serves, once, from its own route table. */
const routes = [
  ...new Map(
    app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => [`${route.method} ${route.path}`, { method: route.method, path: route.path }]),
  ).values(),
];

/** A fresh user, registered from an address of its own so the many registrations of
 * this file never meet the per-IP limit. */
async function registered() {
  const address = `198.18.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 255) + 1}`;
  const res = await postJson("/register", newUser(), { "CF-Connecting-IP": address });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { id: string; token: string };
  return { body, token: body.token };
}

/** How a request can carry (or fail to carry) credentials. */
const CREDENTIALS = ["admin token", "user token", "x-access-token", "bad token", "no token"] as const;

async function headersFor(kind: (typeof CREDENTIALS)[number]): Promise<Record<string, string>> {
  if (kind === "no token") return {};
  if (kind === "bad token") return bearer("x.y.z");
  const { body, token } = await registered();
  if (kind === "admin token") await promote(body.id);
  return kind === "x-access-token" ? { "x-access-token": token } : bearer(token);
}

describe("Cache-Control", () => {
  it("has routes to check, the account and admin routes among them", () => {
    const paths = routes.map((route) => `${route.method} ${route.path}`);
    for (const expected of ["GET /me", "GET /sessions", "GET /admin/users", "POST /token/refresh", "POST /login"]) {
      expect(paths).toContain(expected);
    }
  });

  it.each(
    routes.flatMap((route) => CREDENTIALS.map((credentials) => [`${route.method} ${route.path}`, credentials, route])),
  )("%s with %s: no-store unless it is a public document with its own caching", async (_label, credentials, route) => {
    const { method, path } = route as { method: string; path: string };
    // A real id where the route takes one, so admin reads answer 200 with account data.
    const target = (await registered()).body.id;
    const url = path.replace(/:\w+(\{[^}]*\})?/g, target);
    const hasBody = method !== "GET" && method !== "HEAD";
    const res = await call(url, {
      method,
      headers: {
        ...(await headersFor(credentials as (typeof CREDENTIALS)[number])),
        "content-type": "application/json",
      },
      body: hasBody ? "{}" : undefined,
    });
    // With mail off (the workerd suite's default) a mail route's 503 mail_unavailable is its
    // contract, not a failure.
    if (res.status === 503) expect(await res.clone().json()).toMatchObject({ error: { code: "mail_unavailable" } });
    else expect(res.status, `${method} ${url}`).toBeLessThan(500);
    const expected = PUBLIC[path] ?? "no-store";
    expect(res.headers.get("cache-control"), `${method} ${url} -> ${res.status}`).toBe(expected);
  });

  it("is no-store on the answers that carry account data: /me, /sessions, /admin/users, /admin/users/:id", async () => {
    const admin = await registered();
    await promote(admin.body.id);
    for (const path of ["/me", "/sessions", "/admin/users", `/admin/users/${admin.body.id}`]) {
      const res = await call(path, { headers: bearer(admin.token) });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
  });

  it("is no-store on errors, unknown paths, wrong methods and preflights too", async () => {
    for (const res of [
      await call("/no-such-path"),
      await call("/me", { method: "PUT" }),
      await call("/login", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }),
      await call("/login", {
        method: "OPTIONS",
        headers: { origin: "https://a.example", "access-control-request-method": "POST" },
      }),
      await call("/health", {}, { TOKEN_KEY: "short" }),
    ]) {
      expect(res.headers.get("cache-control"), String(res.status)).toBe("no-store");
    }
  });
});
