import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { lexer, type Token } from "marked";
import { describe, expect, it } from "vitest";

// Every relative link of the docs resolves: the file (or folder) exists and, for a
// `#fragment`, one of the target's headings has that anchor, spelled as GitHub spells it.

const root = fileURLToPath(new URL("../../", import.meta.url));
const guides = readdirSync(join(root, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => `docs/${name}`);
const files = ["README.md", "CONTRIBUTING.md", "bench/README.md", ...guides].filter((file) =>
  existsSync(join(root, file)),
);

/** Every token of a Markdown tree, tables and lists included. */
function* walk(tokens: readonly unknown[]): Generator<Token> {
  for (const token of tokens) {
    if (Array.isArray(token)) {
      yield* walk(token);
      continue;
    }
    if (!token || typeof token !== "object") continue;
    if ("type" in token) yield token as Token;
    for (const key of ["tokens", "items", "header", "rows"] as const) {
      const nested = (token as Record<string, unknown>)[key];
      if (Array.isArray(nested)) yield* walk(nested);
    }
  }
}

/** The text a heading shows: code spans, emphasis and links reduced to their text. */
function plain(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      const nested = (token as { tokens?: Token[] }).tokens;
      if (nested && token.type !== "codespan") return plain(nested);
      return "text" in token ? String(token.text) : "";
    })
    .join("");
}

/** GitHub's anchor for a heading: lowercase, punctuation and symbols dropped, spaces as `-`. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a Markdown file's headings; a repeated heading gets `-1`, `-2`, … as on GitHub. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const token of walk(lexer(markdown))) {
    if (token.type !== "heading") continue;
    const base = slug(plain((token as { tokens: Token[] }).tokens));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Each link of `file` that does not resolve, with the reason. */
function brokenLinks(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const problems: string[] = [];
  for (const token of walk(lexer(text))) {
    if (token.type !== "link" && token.type !== "image") continue;
    const href = (token as { href: string }).href;
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto:, …
    const [path = "", fragment] = href.split("#", 2);
    const target = path === "" ? join(root, file) : join(root, dirname(file), decodeURI(path));
    const shown = relative(root, target) || ".";
    if (!existsSync(target)) {
      problems.push(`${href}: ${shown} does not exist`);
      continue;
    }
    if (fragment === undefined) continue;
    if (!target.endsWith(".md")) {
      problems.push(`${href}: a #fragment on ${shown}, which is not Markdown`);
    } else if (!anchors(readFileSync(target, "utf8")).has(decodeURIComponent(fragment))) {
      problems.push(`${href}: ${shown} has no heading #${fragment}`);
    }
  }
  return problems;
}

describe("links between the docs", () => {
  it("checks README.md, CONTRIBUTING.md and every guide in docs/", () => {
    expect(files).toEqual(expect.arrayContaining(["README.md", "CONTRIBUTING.md", "docs/api.md"]));
  });

  for (const file of files) {
    it(`every relative link and #anchor of ${file} resolves`, () => {
      expect(brokenLinks(file)).toEqual([]);
    });
  }

  it("spells anchors as GitHub does", () => {
    expect(slug("GET or POST /welcome")).toBe("get-or-post-welcome");
    expect(slug("CORS: the tutorial's three ways")).toBe("cors-the-tutorials-three-ways");
    expect(slug("10× traffic")).toBe("10-traffic");
    expect(slug("refresh_token in a cookie")).toBe("refresh_token-in-a-cookie");
    expect([...anchors("# `POST /register`\n\n## Notes\n\n## Notes\n")]).toEqual(["post-register", "notes", "notes-1"]);
  });
});
