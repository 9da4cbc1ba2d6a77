import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, call, errorOf, newUser, promote, registered } from "./helpers";
import { withMail } from "./mail";

function post(path: string, body: BodyInit | null, contentType?: string) {
  return call(path, { method: "POST", headers: contentType ? { "content-type": contentType } : {}, body });
}

/** POSTs `body` as a stream, so no Content-Length goes with it. */
function streamed(path: string, body: Uint8Array | ReadableStream<Uint8Array>) {
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: body instanceof Uint8Array ? new Blob([body]).stream() : body,
    // @ts-expect-error: duplex is required by the fetch spec for streamed bodies
    duplex: "half",
  });
}

/** A stream of `total` bytes of JSON whitespace in 4 KiB pieces that counts what was read. */
function counted(total: number) {
  let pulled = 0;
  const piece = new TextEncoder().encode(" ".repeat(4096));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      pulled += piece.byteLength;
      controller.enqueue(piece);
    },
  });
  return { stream, pulled: () => pulled };
}

describe("request bodies", () => {
  it.each(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"])(
    "refuses %s with 415 and creates nobody",
    async (type) => {
      const input = newUser();
      const res = await post("/register", JSON.stringify(input), type);
      expect(res.status).toBe(415);
      expect((await errorOf(res)).code).toBe("unsupported_media_type");
      const row = await env.DB.prepare("select id from users where email = ?").bind(input.email).first();
      expect(row).toBeNull();
    },
  );

  it("refuses a body without a content type with 415", async () => {
    const res = await post("/login", JSON.stringify({ email: "a@example.com", password: "x" }));
    expect(res.status).toBe(415);
  });

  it("accepts application/json with a charset", async () => {
    const res = await post("/register", JSON.stringify(newUser()), "application/json; charset=utf-8");
    expect(res.status).toBe(201);
  });

  it.each([
    ["an empty body", ""],
    ["truncated JSON", '{"email": "a@example.com", "password": '],
    ["a JSON array", "[]"],
    ["a JSON string", '"hello"'],
    ["JSON null", "null"],
    ["a number", "42"],
  ])("answers 400 invalid_json for %s", async (_label, body) => {
    for (const path of ["/register", "/login"]) {
      const res = await post(path, body, "application/json");
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_json");
    }
  });

  it("answers 400 invalid_json for invalid UTF-8", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const res = await post("/login", bytes, "application/json");
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
  });

  it("answers 400 invalid_json when no body is sent at all", async () => {
    const res = await call("/register", { method: "POST" });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
  });

  it("answers 413 for bodies over 16 KiB, whatever the declared length", async () => {
    const big = JSON.stringify({ ...newUser(), padding: "x".repeat(17 * 1024) });
    const declared = await post("/register", big, "application/json");
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe("payload_too_large");
    const chunked = await streamed("/register", new TextEncoder().encode(big));
    expect(chunked.status).toBe(413);
  });

  it("accepts a streamed body under the limit", async () => {
    const res = await streamed("/register", new TextEncoder().encode(JSON.stringify(newUser())));
    expect(res.status).toBe(201);
  });

  it("reads a refused body to its end before the 413, up to 1 MiB", async () => {
    // wrangler dev's proxy fails the next request when a worker answers a body it left unread.
    const small = counted(64 * 1024);
    expect((await streamed("/register", small.stream)).status).toBe(413);
    expect(small.pulled()).toBe(64 * 1024);
    const huge = counted(4 * 1024 * 1024);
    expect((await streamed("/register", huge.stream)).status).toBe(413);
    expect(huge.pulled()).toBeGreaterThan(1024 * 1024);
    expect(huge.pulled()).toBeLessThan(4 * 1024 * 1024);
  });

  it("uses the last of duplicate keys for both validation and storage", async () => {
    const input = newUser();
    const body = `{"firstName":"Ada","lastName":"L","email":"${input.email}","password":"x","password":"${input.password}"}`;
    const res = await post("/register", body, "application/json");
    expect(res.status).toBe(201);
    const login = await post(
      "/login",
      JSON.stringify({ email: input.email, password: input.password }),
      "application/json",
    );
    expect(login.status).toBe(200);
  });

  it("does not let __proto__ or constructor keys pollute objects", async () => {
    const input = newUser();
    const body = `{"firstName":"A","lastName":"B","email":"${input.email}","password":"${input.password}","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}`;
    const res = await post("/register", body, "application/json");
    expect(res.status).toBe(201);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

/** Email sign-in's routes are not there while EMAIL_LOGIN is off (its default): 404 whatever
 * the body (test/email-login.test.ts). Here they are on, so their body rules show. */
const EMAIL_LOGIN_ON = {
  ...withMail,
  EMAIL_LOGIN: "both",
  EMAIL_LOGIN_KEY: "bodies-test-email-login-key-at-least-32-bytes",
} as unknown as Partial<Cloudflare.Env>;

describe("every route that takes a body (from the OpenAPI document)", () => {
  it("refuses a body that is not JSON (415), not an object (400 invalid_json) or over 16 KiB (413), changing nothing", async () => {
    const { body: me, token } = await registered();
    await promote(me.id);
    const doc = (await (await call("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { required?: boolean; content: Record<string, unknown> }; security?: unknown }>
      >;
    };
    // JSON bodies; the one form (POST /login/email/link) is test/email-login.test.ts's. The
    // OAuth endpoints answer bad bodies in the RFC shape (test/oauth-registration.test.ts).
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => operation.requestBody?.content["application/json"])
        .filter(() => !path.startsWith("/oauth/"))
        .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
    );
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const { method, path: template, operation } of routes) {
      const path = template.replace("{id}", me.id);
      // An optional body (POST /welcome) is read only when no header carries the token.
      const auth = operation.security && operation.requestBody?.required ? bearer(token) : {};
      for (const [type, sent, status, code] of [
        ["text/plain", "{}", 415, "unsupported_media_type"],
        ["application/json", "[1]", 400, "invalid_json"],
        ["application/json", JSON.stringify({ pad: "x".repeat(17 * 1024) }), 413, "payload_too_large"],
      ] as const) {
        const init = { method, headers: { ...auth, "content-type": type }, body: sent };
        const res = await call(path, init, path.startsWith("/login/email") ? EMAIL_LOGIN_ON : {});
        expect(res.status, `${method} ${path} ${type} ${sent.slice(0, 10)}`).toBe(status);
        expect((await errorOf(res)).code).toBe(code);
      }
    }
    expect((await call("/me", { headers: bearer(token) })).status).toBe(200);
  });
});

describe("routing", () => {
  it("answers unknown routes with a JSON 404 not_found", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["POST", "/nope/deeper"],
      ["GET", "/registerx"],
    ] as const) {
      const res = await call(path, { method });
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toEqual({ code: "not_found", message: "Not Found" });
    }
  });

  it.each([
    ["GET", "/register", "OPTIONS, POST"],
    ["PUT", "/login", "OPTIONS, POST"],
    ["DELETE", "/welcome", "GET, HEAD, OPTIONS, POST"],
    ["POST", "/health", "GET, HEAD, OPTIONS"],
    ["PUT", "/me", "DELETE, GET, HEAD, OPTIONS, PATCH"],
    ["GET", "/sessions/abc", "DELETE, OPTIONS"],
  ])("answers %s %s with 405 JSON and Allow: %s", async (method, path, allow) => {
    const res = await call(path, { method });
    expect(res.status).toBe(405);
    expect(await errorOf(res)).toEqual({ code: "method_not_allowed", message: "Method Not Allowed" });
    expect((res.headers.get("allow") ?? "").split(", ").sort().join(", ")).toBe(allow);
  });

  it("gives every response an X-Request-Id and keeps a sane incoming one", async () => {
    const generated = await call("/health");
    expect(generated.headers.get("x-request-id")).toMatch(/^[\w-]{8,}$/);
    const kept = await call("/health", { headers: { "X-Request-Id": "trace-123" } });
    expect(kept.headers.get("x-request-id")).toBe("trace-123");
  });
});
