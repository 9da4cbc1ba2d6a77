import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { safeDetails } from "../src/identity/audit";
import { log } from "../src/platform/log";
import { inertText } from "../src/platform/text";
import { bearer, call, type Json, loggedIn, newUser, postJson, promote, registered, send } from "./helpers";
import { type Options, SoftwareAuthenticator } from "./support/authenticator.mjs";

// Client text that acts instead of showing: a terminal escape that clears the screen, a
// right-to-left override, NEXT LINE (C1), LINE SEPARATOR, NUL. Header values are byte
// strings, so there U+202E arrives as its UTF-8 bytes read one per character (`â` then
// the C1 control U+0080 then `®`), which is what workerd hands the worker for a real
// UTF-8 header.
const ESC_CLEAR = "\u001b[2J";
const HOSTILE_HEADER = `agent ${ESC_CLEAR} \u00e2\u0080\u00ae \u0085 tail`;
const HOSTILE_BODY = `x${ESC_CLEAR}\u202e\u0085\u2028\u0000y`;
/** Anything a terminal or a bidi-aware viewer acts on. */
const ACTIVE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("inertText", () => {
  it("writes controls, bidi and format characters, separators and lone surrogates out visibly", () => {
    expect(inertText(HOSTILE_BODY, 200)).toBe("x\\u{1B}[2J\\u{202E}\\u{85}\\u{2028}\\u{0}y");
    expect(inertText("a\u2066b\u2069c\u200bd\ufeffe\u00adf\u{e0041}g", 200)).toBe(
      "a\\u{2066}b\\u{2069}c\\u{200B}d\\u{FEFF}e\\u{AD}f\\u{E0041}g",
    );
    expect(inertText("lone \ud800 surrogate", 200)).toBe("lone \\u{D800} surrogate");
    expect(inertText("Hangul filler \u3164", 200)).toBe("Hangul filler \\u{3164}");
  });

  it("leaves plain text of any script, emoji and combining marks alone", () => {
    for (const text of ["Mozilla/5.0 (X11; Linux x86_64)", "Zoë Ångström", "Zoe\u0301", "日本語 العربية", "👩🏽"]) {
      expect(inertText(text, 200)).toBe(text);
    }
  });

  it("cuts to maxLength without splitting a character or an escape", () => {
    expect(inertText("a".repeat(300), 256)).toHaveLength(256);
    expect(inertText(`${"a".repeat(255)}😀`, 256)).toBe("a".repeat(255));
    expect(inertText(`abc${ESC_CLEAR}`, 8)).toBe("abc");
    expect(inertText(`abc${ESC_CLEAR}`, 9)).toBe("abc\\u{1B}");
  });
});

describe("client text reaches D1 and the log inert", () => {
  it("user agents in /me/activity, /sessions and /admin/audit", async () => {
    const input = newUser();
    const client = { "user-agent": HOSTILE_HEADER, "cf-connecting-ip": "203.0.113.9" };
    const reg = await postJson("/register", input, client);
    expect(reg.status).toBe(201);
    const { id } = (await reg.json()) as { id: string };
    const { token } = await loggedIn(input, client);
    const expected = "agent \\u{1B}[2J \u00e2\\u{80}\u00ae \\u{85} tail";

    const activity = (await (await call("/me/activity", { headers: bearer(token) })).json()) as {
      events: Json[];
    };
    expect(activity.events.map((event) => event.user_agent)).toEqual([expected, expected]);

    const sessions = (await (await call("/sessions", { headers: bearer(token) })).json()) as { sessions: Json[] };
    expect(sessions.sessions.map((session) => session.user_agent)).toEqual([expected, expected]);

    const admin = await registered();
    await promote(admin.body.id);
    const audit = (await (await call(`/admin/audit?user_id=${id}`, { headers: bearer(admin.token) })).json()) as {
      events: Json[];
    };
    expect(audit.events.map((event) => event.user_agent)).toEqual([expected, expected]);
    expect(JSON.stringify([activity, sessions, audit])).not.toMatch(ACTIVE);
  });

  it("a refreshed session's user agent too", async () => {
    const { refreshToken } = await registered();
    const res = await postJson("/token/refresh", { refresh_token: refreshToken }, { "user-agent": HOSTILE_HEADER });
    const { token } = (await res.json()) as { token: string };
    const sessions = (await (await call("/sessions", { headers: bearer(token) })).json()) as { sessions: Json[] };
    expect(sessions.sessions[0]?.user_agent).toBe("agent \\u{1B}[2J \u00e2\\u{80}\u00ae \\u{85} tail");
  });

  it("request ids taken from X-Request-Id", async () => {
    const input = newUser();
    const res = await postJson("/register", input, { "x-request-id": `id${ESC_CLEAR}\u0085` });
    const { id } = (await res.json()) as { id: string };
    const admin = await registered();
    await promote(admin.body.id);
    const audit = (await (await call(`/admin/audit?user_id=${id}`, { headers: bearer(admin.token) })).json()) as {
      events: Json[];
    };
    expect(audit.events[0]?.request_id).toMatch(/^[\w=-]+$/);
  });

  it("passkey transports a browser reported, in /me/passkeys", async () => {
    const user = await registered();
    const options = (await (await send("POST", "/me/passkeys/options", user.token)).json()) as Options;
    const response = await (await SoftwareAuthenticator.create()).register(options);
    (response.response as Json).transports = ["internal", HOSTILE_BODY, 7, "hybrid"];
    const added = await send("POST", "/me/passkeys", user.token, { response, name: "Laptop" });
    expect(added.status).toBe(201);
    const list = (await (await send("GET", "/me/passkeys", user.token)).json()) as { passkeys: Json[] };
    // Non-strings dropped; a transport is at most 32 characters, so the escapes run out.
    expect(list.passkeys[0]?.transports).toEqual(["internal", "x\\u{1B}[2J\\u{202E}\\u{85}\\u{2028}", "hybrid"]);
  });

  it("passkey names are refused, not stored, when they hold such characters", async () => {
    const user = await registered();
    const options = (await (await send("POST", "/me/passkeys/options", user.token)).json()) as Options;
    const response = await (await SoftwareAuthenticator.create()).register(options);
    for (const name of [`Laptop${ESC_CLEAR}`, "Laptop\u202e", "Lap\u2028top", "Lap\u0085top", "Lap\u0000top"]) {
      const res = await send("POST", "/me/passkeys", user.token, { response, name });
      expect(res.status, JSON.stringify(name)).toBe(400);
    }
  });

  it("audit details strings", () => {
    expect(safeDetails({ session_id: HOSTILE_BODY })).toBe(
      JSON.stringify({ session_id: "x\\u{1B}[2J\\u{202E}\\u{85}\\u{2028}\\u{0}y" }),
    );
  });

  it("every value of a log line, the path included", async () => {
    const lines: string[] = [];
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((line: string) => lines.push(line));
    }
    const probe = new Hono().get("*", (c) => {
      log(c, "warn", "probe", { detail: HOSTILE_BODY, count: 3 });
      return c.body(null, 204);
    });
    await probe.request("/a%1B%5B2J%E2%80%AEb");
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string) as Json;
    expect(line).toMatchObject({
      event: "probe",
      path: "/a\\u{1B}[2J\\u{202E}b",
      detail: "x\\u{1B}[2J\\u{202E}\\u{85}\\u{2028}\\u{0}y",
      count: 3,
    });
    expect(lines[0]).not.toMatch(ACTIVE);
  });

  it("a WebAuthn refusal's reason in the log, which quotes the origin the client signed", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => lines.push(line));
    const user = await registered();
    const options = (await (await send("POST", "/me/passkeys/options", user.token)).json()) as Options;
    const response = await (await SoftwareAuthenticator.create()).register(options, {
      origin: `https://evil.example${ESC_CLEAR}\u202e\u2028`,
    });
    const res = await send("POST", "/me/passkeys", user.token, { response });
    expect(res.status).toBe(400);
    const refused = lines.find((line) => line.includes("webauthn_register_refused"));
    expect(refused).toContain("evil.example\\\\u{1B}[2J\\\\u{202E}\\\\u{2028}");
    expect(refused).not.toMatch(ACTIVE);
  });
});
