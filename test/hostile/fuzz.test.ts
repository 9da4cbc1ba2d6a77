import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ERROR_STATUSES } from "../../src/platform/errors";
import { app } from "../../src/worker";
import { call, registered } from "../helpers";

/** Every route the app serves, from its own route table, `:params` filled in later. */
const routes = app.routes
  .filter((route) => route.method !== "ALL")
  .map((route) => ({ method: route.method, path: route.path }));

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const HEADER_NAMES = [
  "authorization",
  "x-access-token",
  "origin",
  "content-type",
  "cf-connecting-ip",
  "x-request-id",
  "cookie",
  "x-forwarded-for",
  "access-control-request-method",
  "vary",
];

const jsonValue = fc.jsonValue({ maxDepth: 4 });
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom("", "null", "%", "_", "' or 1=1 --", "\u0000", "__proto__", "Bearer", "a".repeat(300)),
);
const jwtLike = fc
  .tuple(jsonValue, jsonValue, fc.base64String({ maxLength: 60 }))
  .map(([header, payload, signature]) =>
    `${btoa(JSON.stringify(header))}.${btoa(JSON.stringify(payload))}.${signature}`.replace(/=/g, ""),
  );

const secretsPattern = () => new RegExp(`\\$2[aby]\\$|password_hash|refresh_token_hash|${env.TOKEN_KEY}|\\n\\s+at `);

/** Checks one response against the rules every answer must keep. */
async function expectWellBehaved(res: Response, label: string) {
  const body = await res.text();
  // The one 5xx a sound server gives by design: the mail routes while MAIL_TRANSPORT=none.
  const mailOff = res.status === 503 && body.includes('"code":"mail_unavailable"');
  if (!mailOff) expect(res.status, label).toBeLessThan(500);
  expect(body, label).not.toMatch(secretsPattern());
  if (res.status >= 400 && body !== "") {
    expect(res.headers.get("content-type"), label).toMatch(/^application\/json/);
    const parsed = JSON.parse(body) as { error: unknown; error_description?: unknown };
    if (label.includes(" /oauth/") && typeof parsed.error === "string") {
      // The OAuth endpoints' own shape (RFC 6749 §5.2, RFC 7591 §3.2.2).
      expect(typeof parsed.error_description, label).toBe("string");
    } else {
      const error = parsed.error as { code: keyof typeof ERROR_STATUSES; message: string };
      expect(ERROR_STATUSES[error.code], label).toBe(res.status);
      expect(typeof error.message).toBe("string");
    }
  }
  if (res.status === 405) expect(res.headers.get("allow"), label).toBeTruthy();
}

describe("fuzzing every route", () => {
  it("never answers 5xx, always in the JSON error shape, never with secrets: random bodies", async () => {
    const { token } = await registered();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(
          jsonValue.map((value) => JSON.stringify(value)),
          fc.string({ maxLength: 200 }),
          fc
            .dictionary(
              fc.constantFrom(
                "email",
                "password",
                "firstName",
                "lastName",
                "token",
                "refresh_token",
                "currentPassword",
                "newPassword",
                "role",
                "disabled",
                "__proto__",
                "constructor",
              ),
              fc.oneof(jsonValue, text),
            )
            .map((value) => JSON.stringify(value)),
        ),
        fc.constantFrom(
          "application/json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "",
          "application/json; charset=utf-8",
        ),
        fc.boolean(),
        fc.string({ minLength: 1, maxLength: 12 }),
        async (route, body, type, authenticated, param) => {
          const path = route.path.replace(/:\w+/g, encodeURIComponent(param));
          const headers: Record<string, string> = {
            "cf-connecting-ip": `198.19.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`,
          };
          if (type) headers["content-type"] = type;
          if (authenticated) headers.authorization = `Bearer ${token}`;
          const hasBody = route.method !== "GET" && route.method !== "HEAD";
          const res = await call(path, { method: route.method, headers, body: hasBody ? body : undefined });
          await expectWellBehaved(res, `${route.method} ${path} ${type} ${body.slice(0, 80)}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never answers 5xx, always in the JSON error shape, never with secrets: random headers and tokens", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes.map((route) => route.path)),
        fc.constantFrom(...METHODS),
        fc.dictionary(
          fc.constantFrom(...HEADER_NAMES),
          fc.oneof(
            text,
            jwtLike,
            jwtLike.map((token) => `Bearer ${token}`),
          ),
          { maxKeys: 5 },
        ),
        async (template, method, rawHeaders) => {
          const path = template.replace(/:\w+/g, "x");
          const headers = new Headers();
          for (const [name, value] of Object.entries(rawHeaders)) {
            try {
              headers.set(name, value);
            } catch {
              // Not a legal header value: no client could send it.
            }
          }
          const res = await call(path, { method, headers });
          await expectWellBehaved(res, `${method} ${path} ${JSON.stringify(rawHeaders).slice(0, 120)}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
