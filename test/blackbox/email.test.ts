import { randomUUID } from "node:crypto";
import { describe, expect } from "vitest";
import { type Client, client, expectError, expectStatus, it, newUser, once, summary } from "./helpers";

/** One account the look-alikes and injections try to reach. */
const victim = once(() => client().register(newUser("alice")));

/** Logs in as `email` with the victim's password: must never be the victim. */
async function notVictim(t: Client, email: string, codes = ["invalid_credentials", "invalid_input"]) {
  const { password, id } = await victim();
  const res = await t.post("/login", { email, password });
  expect(
    res.status === 200 && JSON.parse(res.text).id === id,
    `logged into the victim's account: ${summary(res)}`,
  ).toBe(false);
  expectError(res, 400, codes);
}

/** The victim's email rewritten from its local part and domain. */
async function victimAs(change: (local: string, domain: string) => string) {
  const [local = "", domain = ""] = (await victim()).email.split("@");
  return change(local, domain);
}

async function refusedAtRegister(t: Client, email: string) {
  expectError(await t.post("/register", { ...newUser(), email }), 400, "invalid_input");
}

describe("control characters and header injection", () => {
  it("NUL inside the email at /register -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `nul\u0000${newUser().email}`);
  });

  it("NUL after the victim's email at /login -> 400, not the victim", async ({ t }) => {
    await notVictim(t, `${(await victim()).email}\u0000`);
  });

  it("CR/LF header injection in the email at /register -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `x\r\nBcc: ${newUser().email}`);
  });

  it("CR/LF inside the victim's email at /login -> 400, not the victim", async ({ t }) => {
    await notVictim(t, await victimAs((local, domain) => `${local}\r\n@${domain}`));
  });

  it("SOH control character in the email -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `a\u0001${newUser().email}`);
  });

  it("ESC control character in the email -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `a\u001b[2J${newUser().email}`);
  });

  it("DEL control character in the email -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `a\u007f${newUser().email}`);
  });

  it("TAB inside the email -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `a\tb${newUser().email}`);
  });
});

describe("oversized emails", () => {
  it("100 KB email at /register -> 413 payload_too_large", async ({ t }) => {
    expectError(
      await t.post("/register", { ...newUser(), email: `${"a".repeat(100_000)}@example.com` }),
      413,
      "payload_too_large",
    );
  });

  it("100 KB email at /login -> 413 payload_too_large", async ({ t }) => {
    expectError(
      await t.post("/login", { email: `${"a".repeat(100_000)}@example.com`, password: "x-hostile-1" }),
      413,
      "payload_too_large",
    );
  });

  it("255-character email at /register -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `${"a".repeat(243)}@example.com`);
  });
});

describe("SQL and LIKE injection", () => {
  it("SQL fragment ' OR '1'='1 as the email -> 400 invalid_credentials", async ({ t }) => {
    await notVictim(t, `' OR '1'='1' -- ${randomUUID()}`, ["invalid_credentials"]);
  });

  it("the victim's email followed by '-- -> 400, not the victim", async ({ t }) => {
    await notVictim(t, `${(await victim()).email}' --`);
  });

  it("DROP TABLE in the email at /register -> 400 invalid_input, the table survives", async ({ t }) => {
    await refusedAtRegister(t, `x'); DROP TABLE users; --${randomUUID()}@example.com`);
    const { email, password } = await victim();
    expectStatus(await t.post("/login", { email, password }), 200);
  });

  it("LIKE wildcard % matching the victim's email -> 400, not the victim", async ({ t }) => {
    await notVictim(t, await victimAs((local, domain) => `${local.slice(0, 12)}%@${domain}`));
  });

  it("LIKE wildcard _ in place of one character -> 400, not the victim", async ({ t }) => {
    await notVictim(t, await victimAs((local, domain) => `_${local.slice(1)}@${domain}`));
  });

  it("% in the email at /register -> 400 invalid_input", async ({ t }) => {
    await refusedAtRegister(t, `a%b-${randomUUID()}@example.com`);
  });
});

describe("look-alikes", () => {
  it("Cyrillic а in place of a never logs into the victim", async ({ t }) => {
    await notVictim(t, await victimAs((local, domain) => `\u0430${local.slice(1)}@${domain}`));
  });

  it("fullwidth ａ in place of a never logs into the victim", async ({ t }) => {
    await notVictim(t, await victimAs((local, domain) => `\uff41${local.slice(1)}@${domain}`));
  });

  it("Cyrillic е in the domain never logs into the victim", async ({ t }) => {
    await notVictim(t, await victimAs((local, domain) => `${local}@${domain.replace("e", "\u0435")}`));
  });

  it("zero-width space inside the email never logs into the victim", async ({ t }) => {
    await notVictim(t, await victimAs((local, domain) => `${local.slice(0, 3)}\u200b${local.slice(3)}@${domain}`));
  });

  it("registering a look-alike of the victim never yields the victim's account", async ({ t }) => {
    const { email, password, id } = await victim();
    const lookalike = `\u0430${email.slice(1)}`;
    const res = await t.post("/register", { ...newUser(), email: lookalike, password });
    if (res.status === 201) expect(JSON.parse(res.text).id, "the look-alike got the victim's id").not.toBe(id);
    else expectError(res, 400, "invalid_input");
    const login = await t.post("/login", { email, password });
    expectStatus(login, 200);
    expect(JSON.parse(login.text).id, "the victim's login changed hands").toBe(id);
  });

  it("letter case and surrounding spaces still log in the victim (control)", async ({ t }) => {
    const { email, password, id } = await victim();
    const res = await t.post("/login", { email: `  ${email.toUpperCase()} `, password });
    expectStatus(res, 200);
    expect(JSON.parse(res.text).id, "another account").toBe(id);
  });
});
