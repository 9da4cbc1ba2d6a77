import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, inject, it } from "vitest";

const { defaults } = inject("servers");

describe("the API's reference over real HTTP (npm run dev)", () => {
  it("serves /openapi.json, a valid OpenAPI 3.1 document whose references all resolve", async () => {
    const res = await fetch(`${defaults}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(() => validator.resolveRefs()).not.toThrow();
    // What Postman uses as the base URL when the document is imported by link.
    expect(doc.servers).toEqual([{ url: defaults }]);
  });

  it("serves /docs and the Swagger UI files npm run dev copied into the static assets", async () => {
    const page = await fetch(`${defaults}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    for (const [path, type, text] of [
      ["/docs/assets/swagger-ui/swagger-ui-bundle.js", /^text\/javascript/, "SwaggerUIBundle"],
      ["/docs/assets/swagger-ui/swagger-ui.css", /^text\/css/, ".swagger-ui"],
      ["/docs/assets/docs.js", /^text\/javascript/, "/openapi.json"],
    ] as const) {
      const res = await fetch(`${defaults}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toMatch(type);
      expect(await res.text(), path).toContain(text);
    }
  });

  it("keeps the JSON 404 for every other path under /docs", async () => {
    for (const path of ["/docs/assets/missing.js", "/docs/assets/swagger-ui/", "/docs/assets/", "/docs/"]) {
      const res = await fetch(`${defaults}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: { code: "not_found", message: "Not Found" } });
    }
  });
});
