import { describe, expect, it } from "vitest";
import { apiRoutes } from "../src/app-type";
import { app } from "../src/worker";

/** Method and path of every handler that answers a request (not app-wide middleware). */
function endpoints(routes: { method: string; path: string }[]): string[] {
  return [...new Set(routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))].sort();
}

describe("AppType", () => {
  it("covers exactly the routes the worker serves, so the typed client sees every one", () => {
    expect(endpoints(apiRoutes().routes)).toEqual(endpoints(app.routes));
    expect(endpoints(app.routes)).toContain("POST /token/refresh");
  });
});
