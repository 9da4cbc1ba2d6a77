import { execFileSync } from "node:child_process";
import { describe, expect, inject, it } from "vitest";

const { defaults, defaultsDir, es256 } = inject("servers");

async function register(base: string, email: string) {
  const res = await fetch(`${base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ firstName: "Root", lastName: "Admin", email, password: "first-admin-1" }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { token: string };
}

function headerOf(token: string) {
  return JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString());
}

describe("bootstrapping the first admin with npm run admin:grant", () => {
  it("promotes an existing user in the local D1; the admin API opens at once", async () => {
    const email = `boss-${crypto.randomUUID()}@example.com`;
    const { token } = await register(defaults, email);
    expect((await fetch(`${defaults}/admin/users`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(
      403,
    );
    const out = execFileSync(
      "npm",
      ["run", "-s", "admin:grant", "--", email.toUpperCase(), "--local", "--persist-to", defaultsDir],
      {
        encoding: "utf8",
      },
    );
    expect(out).toContain("is now an admin");
    const res = await fetch(`${defaults}/admin/users?email=${encodeURIComponent(email)}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { users: { role: string }[] }).users).toEqual([
      expect.objectContaining({ role: "admin" }),
    ]);
  });

  it("fails without changing anything for an email nobody registered", () => {
    expect(() =>
      execFileSync("npm", ["run", "-s", "admin:grant", "--", "nobody@example.com", "--persist-to", defaultsDir], {
        stdio: "pipe",
      }),
    ).toThrow();
  });
});

describe("a server signing with ES256 (key from npm run keys:generate)", () => {
  it("publishes the public key and signs tokens that name it", async () => {
    const jwks = await fetch(`${es256}/.well-known/jwks.json`);
    expect(jwks.headers.get("cache-control")).toBe("public, max-age=300");
    const { keys } = (await jwks.json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(keys[0]).not.toHaveProperty("d");
    const { token } = await register(es256, `es-${crypto.randomUUID()}@example.com`);
    expect(headerOf(token)).toEqual({ alg: "ES256", typ: "JWT", kid: keys[0]?.kid });
    expect((await fetch(`${es256}/welcome`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it("publishes nothing with the default HS256", async () => {
    expect(await (await fetch(`${defaults}/.well-known/jwks.json`)).json()).toEqual({ keys: [] });
  });
});
