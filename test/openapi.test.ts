import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { changePasswordBody } from "../src/features/account/schemas";
import { registerBody } from "../src/features/auth/schemas";
import { ERROR_STATUSES } from "../src/platform/errors";
import { openApiDocument, openApiPath } from "../src/platform/openapi/document";
import { app } from "../src/worker";
import { call, errorOf } from "./helpers";

type Response = {
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: unknown; examples?: Record<string, { value: unknown }> }>;
};
type Operation = {
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, Response>;
};
type Document = {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, unknown>;
    responses: Record<string, Response>;
  };
};

async function fetchDocument(): Promise<Document> {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return (await res.json()) as Document;
}

/** The statuses of the shared responses, which answer paths or methods no operation has. */
const SHARED: Record<string, string> = { MethodNotAllowed: "405", NotFound: "404" };

/** Every response in the document, operations' and shared ones, with its status. */
function allResponses(doc: Document): [string, Response][] {
  const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
  return [
    ...operations.flatMap((operation) => Object.entries(operation.responses)),
    ...Object.entries(doc.components.responses).map(([name, response]): [string, Response] => [
      SHARED[name] ?? "unknown",
      response,
    ]),
  ];
}

/** The statuses under which `code` has an example. */
function statusesOf(doc: Document, code: string): Set<string> {
  const statuses = new Set<string>();
  for (const [status, response] of allResponses(doc)) {
    const examples = response.content?.["application/json"]?.examples ?? {};
    if (code in examples) statuses.add(status);
  }
  return statuses;
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document whose server is the origin it was fetched from", async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.servers).toEqual([{ url: "http://localhost" }]);
  });

  it("documents every route the app serves, and no other", async () => {
    const doc = await fetchDocument();
    // Middleware entries (use) have method ALL; every handler of a route has its own entry.
    const served = new Set(
      app.routes.filter((route) => route.method !== "ALL").map((route) => `${route.method} ${openApiPath(route.path)}`),
    );
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual([...served].sort());
    expect(served).toContain("GET /openapi.json");
    expect(served).toContain("GET /docs");
  });

  it("documents every error code of src/platform/errors.ts under its status, with an example", async () => {
    const doc = await fetchDocument();
    const codes = doc.components.schemas.Error as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    for (const [code, status] of Object.entries(ERROR_STATUSES)) {
      expect(codes.properties.error.properties.code.enum, code).toContain(code);
      expect(statusesOf(doc, code), code).toEqual(new Set([String(status)]));
    }
  });

  it("documents rate_limited and service_unavailable with Retry-After, method_not_allowed with Allow", async () => {
    const doc = await fetchDocument();
    for (const [code, status, header] of [
      ["rate_limited", "429", "Retry-After"],
      ["service_unavailable", "503", "Retry-After"],
      ["method_not_allowed", "405", "Allow"],
    ] as const) {
      expect(statusesOf(doc, code), code).toEqual(new Set([status]));
      for (const [at, response] of allResponses(doc)) {
        if (at === status) expect(response.headers, code).toHaveProperty(header);
      }
    }
    // The shared 405 is what the app answers to a method a documented path does not serve.
    const wrongMethod = await call("/docs", { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });

  it("documents refresh_transport on every route that issues a refresh token", async () => {
    const doc = await fetchDocument();
    const schemas = doc.components.schemas as Record<string, { properties: Record<string, unknown> }>;
    for (const name of ["RegisterBody", "LoginBody", "RefreshBody", "ChangePasswordBody"]) {
      expect(schemas[name]?.properties.refresh_transport, name).toMatchObject({
        enum: ["cookie", "body"],
        default: "body",
        description: expect.stringContaining("HttpOnly"),
      });
    }
  });

  it("describes request bodies with the zod schemas the routes validate with", async () => {
    const doc = await fetchDocument();
    const asInput = (schema: z.ZodMiniType) => {
      const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input" });
      return rest;
    };
    expect(doc.components.schemas.RegisterBody).toEqual(asInput(registerBody));
    expect(doc.components.schemas.ChangePasswordBody).toEqual(asInput(changePasswordBody));
    expect(doc.paths["/register"]?.post?.requestBody?.content["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/RegisterBody",
    });
  });

  it("requires Bearer or x-access-token exactly where the app does, and documents its answer without one", async () => {
    const doc = await fetchDocument();
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: "http", scheme: "bearer" },
      accessToken: { type: "apiKey", in: "header", name: "x-access-token" },
      refreshCookie: { type: "apiKey", in: "cookie", name: "__Secure-refresh_token" },
    });
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const name = `${method.toUpperCase()} ${path}`;
        const res = await call(path.replace("{id}", crypto.randomUUID()).replace("{file}", "docs.js"), {
          method: method.toUpperCase(),
        });
        const documented = operation.responses[String(res.status)];
        expect(documented, `${name} answers ${res.status}`).toBeDefined();
        const code = res.status >= 400 ? (await errorOf(res)).code : undefined;
        if (code) expect(documented?.content?.["application/json"]?.examples, name).toHaveProperty(code);
        const expected =
          name === "POST /token/refresh"
            ? [{}, { refreshCookie: [] }]
            : code === "token_required"
              ? [{ bearer: [] }, { accessToken: [] }]
              : undefined;
        expect(operation.security, name).toEqual(expected);
      }
    }
  });

  it("is built once per isolate", () => {
    expect(openApiDocument(app, "http://a.example").paths).toBe(openApiDocument(app, "http://b.example").paths);
  });

  it("lists for each route the error codes it answers (checked against the whole suite by scripts/test.mjs)", async ({
    task,
  }) => {
    const doc = await fetchDocument();
    const documented: Record<string, string[]> = {};
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const codes = Object.entries(operation.responses)
          .filter(([status]) => Number(status) >= 400)
          .flatMap(([, response]) => Object.keys(response.content?.["application/json"]?.examples ?? {}));
        expect(codes.length, `${method} ${path}`).toBeGreaterThan(0);
        documented[`${method.toUpperCase()} ${path}`] = codes.sort();
      }
    }
    task.meta.documented = documented;
  });
});

describe("GET /docs", () => {
  it("serves a page that loads Swagger UI from this origin only", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script src="/docs/assets/swagger-ui/swagger-ui-bundle.js">');
    expect(html).toContain('<script src="/docs/assets/docs.js">');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("serves its files from static assets; a missing one is the JSON 404", async () => {
    const script = await call("/docs/assets/docs.js");
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('url: "/openapi.json"');
    for (const path of ["/docs/assets/missing.js", "/docs/assets/swagger-ui/", "/docs/assets/", "/docs/"]) {
      const res = await call(path);
      expect(res.status, path).toBe(404);
      expect((await errorOf(res)).code).toBe("not_found");
    }
  });
});
