import { describe, expect, it } from "vitest";
import { readConfig } from "../src/platform/config";
import { SETTINGS } from "../src/platform/settings";
import { duration, ids, integer, optional, secretKey } from "../src/platform/settings-kinds";
import { describe as docOf, readSettings, type Setting } from "../src/platform/settings-read";

describe("setting declarations", () => {
  it("give every var a default its own parser accepts", () => {
    const read = readSettings(SETTINGS, {}) as Record<string, { ok: boolean }>;
    for (const setting of SETTINGS.filter((s) => s.kind === "var"))
      expect([setting.name, read[setting.name]?.ok]).toEqual([setting.name, true]);
  });

  it("show each parser's bounds in the docs, written from the bounds the parser checks", () => {
    const ttl = {
      name: "TTL",
      kind: "var",
      parse: duration({ min: "0s", max: "60s" }),
      default: "10s",
      doc: "{bounds}",
    };
    expect(docOf(ttl as Setting)).toBe("0 s to 60 s");
    expect(() => ttl.parse("61s", "TTL")).toThrow(
      'TTL "61s" must be a duration like 5h, 15m or 3600, between 0s and 1m',
    );
    expect(docOf({ ...ttl, parse: integer({ min: 1, max: 9 }) } as Setting)).toBe("1 to 9");
    expect(() => docOf({ ...ttl, doc: "up to 60 s" } as Setting)).toThrow("{bounds}");
    expect(SETTINGS.map((setting) => docOf(setting)).join(" ")).not.toContain("{bounds}");
  });
});

describe("a family of settings (one per id, e.g. SOCIAL_<ID>_CLIENT_ID)", () => {
  const FAMILY = [
    { name: "PROVIDERS", kind: "var", parse: ids(), default: "", doc: "Provider ids" },
    { name: "P_<ID>_CLIENT_ID", kind: "var", each: "PROVIDERS", parse: optional(), default: "", doc: "Client id" },
    { name: "P_<ID>_SECRET", kind: "secret", each: "PROVIDERS", parse: secretKey({ minBytes: 8 }), doc: "{bounds}" },
  ] as const satisfies readonly Setting[];

  it("is read for each listed id only, as a record by id", () => {
    const read = readSettings(FAMILY, {
      PROVIDERS: "acme, beta",
      P_ACME_CLIENT_ID: " client ",
      P_ACME_SECRET: "12345678",
      P_BETA_SECRET: "abcdefgh",
      P_GAMMA_SECRET: "never read",
    });
    expect(read.PROVIDERS).toEqual({ ok: true, value: ["acme", "beta"] });
    expect(read["P_<ID>_CLIENT_ID"]).toEqual({ ok: true, value: { acme: "client", beta: undefined } });
    expect(read["P_<ID>_SECRET"]).toEqual({ ok: true, value: { acme: "12345678", beta: "abcdefgh" } });
  });

  it("names each refused member by its own binding, every one at once", () => {
    const read = readSettings(FAMILY, { PROVIDERS: "acme,beta", P_ACME_SECRET: "short" });
    expect(read["P_<ID>_SECRET"].ok).toBe(false);
    const problems = read["P_<ID>_SECRET"].ok ? [] : read["P_<ID>_SECRET"].problems;
    expect(problems.map((problem) => problem.split(" ")[0])).toEqual(["P_ACME_SECRET", "P_BETA_SECRET"]);
  });

  it("refuses a list of ids that cannot name a binding", () => {
    expect(readSettings(FAMILY, { PROVIDERS: "acme,Acme-2" }).PROVIDERS.ok).toBe(false);
    expect(readSettings(FAMILY, { PROVIDERS: "acme,acme" }).PROVIDERS.ok).toBe(false);
  });

  it("is documented once, saying which list it is read for", () => {
    expect(docOf(FAMILY[2])).toBe("at least 8 bytes (one for each id in `PROVIDERS`)");
  });
});

describe("config.settings", () => {
  it("holds every setting by name, parsed, after the rules (ENVIRONMENT=test's low cost)", () => {
    const config = readConfig({
      TOKEN_KEY: "k".repeat(32),
      MFA_ENCRYPTION_KEY: "m".repeat(32),
      BCRYPT_COST: "4",
      ENVIRONMENT: "test",
    });
    expect(Object.keys(config.settings)).toEqual(SETTINGS.map((setting) => setting.name));
    expect(config.settings.TOKEN_TTL).toBe(config.tokenTtlSeconds);
    expect(config.settings.BCRYPT_COST).toBe(4);
    expect(config.settings.CORS_ORIGINS).toBe("*");
  });
});
