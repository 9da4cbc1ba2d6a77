import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { errorOf, newUser, postJson, registered, send } from "./helpers";

// One rule for names wherever they are set (src/platform/fields.ts `name`): register and PATCH /me.

const PLAIN = "must be plain text";
const VISIBLE = "must contain at least one visible character";

/** Names refused, with the end of the message that says why. */
const REFUSED: [label: string, value: string, reason: string][] = [
  ["only a zero-width space", "\u200b", PLAIN],
  ["a zero-width space inside", "Ad\u200ba", PLAIN],
  ["only a zero-width joiner", "\u200d", PLAIN],
  ["only a zero-width non-joiner", "\u200c", PLAIN],
  ["a joiner at the start", "\u200dAda", PLAIN],
  ["a joiner at the end", "Ada\u200c", PLAIN],
  ["a joiner next to a space", "Ada \u200dLovelace", PLAIN],
  ["two joiners in a row", "A\u200d\u200dda", PLAIN],
  ["a right-to-left override (RLO)", "\u202egnirts", PLAIN],
  ["a left-to-right override (LRO)", "Ada\u202dx", PLAIN],
  ["a left-to-right embedding (LRE)", "\u202aAda", PLAIN],
  ["a right-to-left embedding (RLE)", "\u202bAda", PLAIN],
  ["a pop directional formatting (PDF)", "Ada\u202cx", PLAIN],
  ["a left-to-right isolate (LRI, PDI)", "\u2066Ada\u2069", PLAIN],
  ["a right-to-left isolate (RLI)", "\u2067Ada", PLAIN],
  ["a first-strong isolate (FSI)", "\u2068Ada", PLAIN],
  ["a left-to-right mark", "\u200eAda", PLAIN],
  ["a right-to-left mark", "Ada\u200fx", PLAIN],
  ["an Arabic letter mark", "\u061cAda", PLAIN],
  ["a word joiner", "Ad\u2060a", PLAIN],
  ["a byte order mark inside", "Ad\ufeffa", PLAIN],
  ["a soft hyphen", "Ada\u00adm", PLAIN],
  ["a Mongolian vowel separator", "Ada\u180ex", PLAIN],
  ["an invisible times", "A\u2062B", PLAIN],
  ["a tag character", "Ada\u{e0041}", PLAIN],
  ["a line separator", "Ada\u2028Lovelace", PLAIN],
  ["a paragraph separator", "Ada\u2029Lovelace", PLAIN],
  ["a NUL", "Ada\u0000", PLAIN],
  ["a C1 control", "Ada\u0085x", PLAIN],
  ["only a Hangul filler", "\u3164", PLAIN],
  ["a Hangul filler inside", "Ad\u3164a", PLAIN],
  ["a halfwidth Hangul filler", "\uffa0", PLAIN],
  ["a Hangul choseong filler", "\u115f", PLAIN],
  ["a lone surrogate", "Ada\ud800", PLAIN],
  ["only a Braille blank", "\u2800", VISIBLE],
  ["only a combining accent", "\u0301", VISIBLE],
  ["only a variation selector", "\ufe0f", VISIBLE],
  ["only combining marks", "\u0301\u0308\u0327", VISIBLE],
];

/** Names accepted, and what is stored (trimmed, NFC). */
const ACCEPTED: [label: string, value: string, stored: string][] = [
  ["letters with diaeresis", "Zoë", "Zoë"],
  ["Chinese", "李", "李"],
  ["a decomposed accent (stored in NFC)", "Jose\u0301", "José"],
  ["Hebrew", "שרה", "שרה"],
  ["Arabic", "محمد", "محمد"],
  ["Persian with a zero-width non-joiner inside a word", "می\u200cخواهم", "می\u200cخواهم"],
  ["Devanagari with a zero-width joiner", "क्\u200dष", "क्\u200dष"],
  ["an emoji ZWJ sequence", "\u{1f469}\u200d\u{1f4bb}", "\u{1f469}\u200d\u{1f4bb}"],
  ["an emoji with a variation selector", "\u2764\ufe0f", "\u2764\ufe0f"],
  ["apostrophe and hyphen", "O'Brien-Smith", "O'Brien-Smith"],
  ["spaces inside", "  Ada King  ", "Ada King"],
  ["one punctuation mark", ".", "."],
];

describe("names", () => {
  describe.each(["POST /register", "PATCH /me"])("%s", (route) => {
    async function setName(firstName: string) {
      if (route === "POST /register") return { res: await postJson("/register", newUser({ firstName })) };
      const { body, token } = await registered();
      return { res: await send("PATCH", "/me", token, { firstName }), id: body.id };
    }

    it.each(REFUSED)("refuses %s with 400 and changes nothing", async (_label, firstName, reason) => {
      const { res, id } = await setName(firstName);
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toEqual({ code: "invalid_input", message: `firstName ${reason}` });
      if (id) {
        const row = await env.DB.prepare("select first_name from users where id = ?").bind(id).first();
        expect(row).toEqual({ first_name: "Ada" });
      }
    });

    it.each(ACCEPTED)("accepts %s", async (_label, firstName, stored) => {
      const { res } = await setName(firstName);
      expect(res.status).toBeLessThan(300);
      expect(((await res.json()) as { first_name: string }).first_name).toBe(stored);
    });
  });

  it("applies the rule to lastName too", async () => {
    const res = await postJson("/register", newUser({ lastName: "\u202eecalevol" }));
    expect(await errorOf(res)).toEqual({ code: "invalid_input", message: "lastName must be plain text" });
  });
});
