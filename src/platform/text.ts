// Client-supplied text made inert before it is stored or logged. It sits under db/
// because db/ imports nothing of ours from outside itself and the audit writer applies
// it; everything else (sessions, passkeys, src/platform/log.ts) imports it from here.

/** Characters that act instead of showing, or show nothing: controls (Cc: C0, DEL, C1
 * such as U+0085 NEXT LINE), format characters (Cf: bidi embeddings, overrides, isolates
 * and marks, zero-width space and joiners, BOM, soft hyphen, tags...), line and paragraph
 * separators (Zl, Zp), lone surrogates (Cs), and default-ignorable code points that are
 * not combining marks (the Hangul fillers). Names refuse the same set (src/platform/fields.ts). */
export const HIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]|(?!\p{M})\p{Default_Ignorable_Code_Point}/u;

/**
 * `value` with every `HIDDEN_CHARACTER` written out visibly as `\u{XXXX}` (so `ESC[2J`
 * becomes `\u{1B}[2J` and U+202E `\u{202E}`), cut to at most `maxLength` UTF-16 units
 * without splitting a character or an escape. A terminal, log viewer or page shows it
 * as the text it is: nothing moves the cursor, clears the screen, reverses or hides what
 * follows. Plain text passes unchanged.
 */
export function inertText(value: string, maxLength: number): string {
  if (value.length <= maxLength && !HIDDEN_CHARACTER.test(value)) return value;
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    // A lone surrogate iterates as itself; a pair as one character, which is visible.
    const piece = HIDDEN_CHARACTER.test(char) ? `\\u{${code.toString(16).toUpperCase()}}` : char;
    if (out.length + piece.length > maxLength) break;
    out += piece;
  }
  return out;
}
