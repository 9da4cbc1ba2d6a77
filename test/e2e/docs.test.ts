import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { ARTIFACTS, pagePerTest } from "./browser";

const { api } = inject("demo");
let page: Page;
/** What the page asked for, and every complaint it logged (CSP violations among them). */
let requested: string[];
let problems: string[];
pagePerTest((opened) => {
  page = opened;
  // Chromium parses 1.7 MB of Swagger UI: slow on a busy two-core machine.
  page.setDefaultTimeout(60_000);
  requested = [];
  problems = [];
  page.on("request", (request) => requested.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
});

/** Opens /docs and waits until Swagger UI has rendered the document's operations. */
async function openDocs() {
  await page.goto(`${api}/docs`);
  await page.locator('.opblock-summary-path[data-path="/register"]').waitFor();
}

describe("GET /docs in Chromium", { timeout: 120_000 }, () => {
  it("renders the operations of /openapi.json with Swagger UI, loading from the API's origin only", async () => {
    await openDocs();
    expect(await page.locator(".opblock").count()).toBeGreaterThanOrEqual(20);
    await page.locator('.opblock-summary-path[data-path="/register"]').click();
    // The example body is the schema's own example (src/features/auth/schemas.ts): a real
    // account, not Swagger UI's samples ("string", a 200-character email from the pattern).
    const example = page.locator("#operations-Auth-register .body-param__example");
    await example.waitFor();
    expect(JSON.parse((await example.textContent()) ?? "")).toEqual({
      firstName: "Ada",
      lastName: "Lovelace",
      email: "ada@example.com",
      password: "correct horse battery staple",
    });
    await page.screenshot({ path: `${ARTIFACTS}docs.png` });

    // /docs/assets/* serves the page's files: not an operation of the API.
    expect(await page.locator('.opblock-summary-path[data-path^="/docs/assets"]').count()).toBe(0);
    expect(requested).toContain(`${api}/openapi.json`);
    expect(requested).toContain(`${api}/docs/assets/swagger-ui/swagger-ui-bundle.js`);
    expect(requested.filter((url) => !url.startsWith(`${api}/`))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("calls the API from the page with Try it out: health, then register and login with the examples", async () => {
    await openDocs();
    const health = page.locator("#operations-Service-getHealth");
    await health.locator(".opblock-summary").click();
    await health.getByRole("button", { name: "Try it out" }).click();
    await health.getByRole("button", { name: "Execute" }).click();
    const answer = health.locator(".live-responses-table tbody .response").first();
    await answer.waitFor();
    expect(await answer.locator(".response-col_status").textContent()).toBe("200");
    expect(JSON.parse((await answer.locator("pre.microlight").first().textContent()) ?? "")).toEqual({
      status: "ok",
    });
    await health.screenshot({ path: `${ARTIFACTS}docs-try-it-out.png` });

    // Register, then log in, with the examples as they are (one page load: Swagger UI is
    // slow to parse on a busy machine).
    for (const [id, status] of [
      ["#operations-Auth-register", "201"],
      ["#operations-Auth-login", "200"],
    ] as const) {
      const operation = page.locator(id);
      await operation.locator(".opblock-summary").click();
      await operation.getByRole("button", { name: "Try it out" }).click();
      await operation.getByRole("button", { name: "Execute" }).click();
      const answer = operation.locator(".live-responses-table tbody .response").first();
      await answer.waitFor();
      const body = (await answer.locator("pre.microlight").first().textContent()) ?? "";
      expect(await answer.locator(".response-col_status").textContent(), body).toBe(status);
      expect(JSON.parse(body)).toMatchObject({ email: "ada@example.com", token: expect.any(String) });
      await operation.screenshot({
        path: `${ARTIFACTS}docs-try-it-out-${status === "201" ? "register" : "login"}.png`,
      });
    }
    expect(problems).toEqual([]);
  });
});
