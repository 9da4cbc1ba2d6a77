import { describe, expect, inject, it } from "vitest";
import { type HostileRun, runHostile } from "../../scripts/hostile.mjs";
import { HOSTILE_ORIGIN, HOSTILE_REUSE_INTERVAL, HOSTILE_TOKEN_KEY } from "./servers";

const { defaults, hostile } = inject("servers");

/** One line per failed case, so the assertion message names them all. */
function failures(run: HostileRun): string[] {
  return run.results
    .filter((result) => result.outcome === "fail")
    .map((result) => `[${result.group}] ${result.name}: ${result.detail}`);
}

describe("scripts/hostile.mjs over real HTTP", () => {
  it("every hostile case holds against a server with a known TOKEN_KEY, a CORS allowlist and a short reuse interval", async () => {
    const run = await runHostile(hostile, {
      tokenKey: HOSTILE_TOKEN_KEY,
      allowlistOrigin: HOSTILE_ORIGIN,
      reuseInterval: HOSTILE_REUSE_INTERVAL,
    });
    const failed = failures(run);
    expect(failed, `${failed.length} hostile cases failed:\n${failed.join("\n")}`).toEqual([]);
    expect(run.passed).toBeGreaterThanOrEqual(80);
    // Only the cases for a CORS "*" server are skipped here; they run below.
    expect(run.results.filter((result) => result.outcome === "skip").map((result) => result.group)).toEqual(
      Array(run.skipped).fill("cors"),
    );
  }, 180_000);

  it('the CORS cases hold against the default server (CORS_ORIGINS="*")', async () => {
    // Only the CORS group here: it is the one whose cases depend on the server's
    // CORS_ORIGINS; the others ran in full above.
    const run = await runHostile(defaults, { only: ["cors"] });
    const failed = failures(run);
    expect(failed, `${failed.length} hostile cases failed:\n${failed.join("\n")}`).toEqual([]);
    expect(run.results.filter((result) => result.name.includes("gets *")).map((result) => result.outcome)).toEqual([
      "ok",
      "ok",
      "ok",
    ]);
  }, 60_000);
});
