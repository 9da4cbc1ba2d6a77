import { lexer, type Token, type Tokens } from "marked";

/** The address the docs' examples use; the runner points it at the server under test. */
export const README_BASE = "http://localhost:8787";
/** The dev mail catcher's web address as the docs show it (`npm run dev` prints it). */
export const README_MAIL = "http://127.0.0.1:1080";

/** A shell block of a docs file that runs, with the output the file shows after it. */
export type Example = {
  /** 1-based line of the block's opening fence in its file. */
  line: number;
  script: string;
  expected?: Expected;
};

/** What a docs file shows a block prints: a whole HTTP answer (`curl -i`), a JSON body, or text. */
export type Expected =
  | { kind: "http"; status: string; headers: [string, string][]; body: string }
  | { kind: "json"; body: string }
  | { kind: "text"; body: string };

const SHELLS = new Set(["sh", "bash", "shell", "console"]);
/** A block talks to the API when it names its address or the `$API` variable set to it. */
const TALKS_TO_API = /localhost:8787|\$\{?API\b/;

/**
 * The runnable examples of one Markdown file (README.md or a guide in docs/), in document order. A fenced block runs when its language
 * is a shell (`sh`) and it talks to the API (mentions `localhost:8787` or `$API`), or its info string
 * says `run`; `norun` in the info string keeps any block from running. The first fenced
 * block after a runnable one, when it is `http`, `json` or `text`, is its expected output.
 */
export function readmeExamples(markdown: string): Example[] {
  const blocks: { words: string[]; text: string; line: number }[] = [];
  let from = 0;
  const visit = (tokens: Token[]) => {
    for (const token of tokens) {
      if (token.type === "code" && (token as Tokens.Code).codeBlockStyle !== "indented") {
        const code = token as Tokens.Code;
        const at = markdown.indexOf(code.raw, from);
        from = at + code.raw.length;
        blocks.push({ words: (code.lang ?? "").split(/\s+/), text: code.text, line: lineOf(markdown, at) });
      }
      const nested = token as { tokens?: Token[]; items?: Token[] };
      if (nested.tokens) visit(nested.tokens);
      if (nested.items) visit(nested.items);
    }
  };
  visit(lexer(markdown));
  const examples: Example[] = [];
  blocks.forEach((block, i) => {
    const [lang = "", ...flags] = block.words;
    if (!SHELLS.has(lang) || flags.includes("norun")) return;
    if (!flags.includes("run") && !TALKS_TO_API.test(block.text)) return;
    const next = blocks[i + 1];
    const kind = next?.words[0];
    const expected =
      next && (kind === "http" || kind === "json" || kind === "text") ? expectation(kind, next.text) : undefined;
    examples.push({ line: block.line, script: block.text, expected });
  });
  return examples;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

function expectation(kind: "http" | "json" | "text", text: string): Expected {
  if (kind !== "http") return { kind, body: text.trim() };
  const { head, body } = splitHead(text);
  const [status = "", ...lines] = head;
  return { kind, status, headers: lines.map(headerPair), body };
}

/** `curl -i` output: one or more answers, each a status line, headers, a blank line and a body. */
export function splitResponses(output: string): { status: string; headers: [string, string][]; body: string }[] {
  const text = output.replace(/\r\n/g, "\n");
  // Not anchored to a line start: curl prints the next status line right after a body
  // that does not end with a newline.
  const starts = [...text.matchAll(/HTTP\/[\d.]+ \d{3} [^\n]*/g)].map((match) => match.index ?? 0);
  return starts.map((start, i) => {
    const { head, body } = splitHead(text.slice(start, starts[i + 1]));
    const [status = "", ...lines] = head;
    return { status: status.trim(), headers: lines.map(headerPair), body };
  });
}

function splitHead(text: string): { head: string[]; body: string } {
  const normal = text.replace(/\r\n/g, "\n");
  const gap = normal.indexOf("\n\n");
  const head = (gap === -1 ? normal : normal.slice(0, gap)).split("\n").filter((line) => line.trim() !== "");
  return { head, body: gap === -1 ? "" : normal.slice(gap + 2).trim() };
}

function headerPair(line: string): [string, string] {
  const at = line.indexOf(":");
  return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
}

/** Fields whose values change from run to run: only their type is compared. */
const VOLATILE = new Set(["id", "token", "refresh_token", "created_at", "updated_at", "last_used_at", "next_cursor"]);

/** True when `actual` matches the README's `expected` text, where `…` or `...` stands for anything. */
function sameText(expected: string, actual: string): boolean {
  if (!/…|\.\.\./.test(expected)) return expected === actual;
  const pattern = expected
    .split(/…|\.\.\./)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^]*");
  return new RegExp(`^${pattern}$`).test(actual);
}

/**
 * The differences between a JSON value the README shows and the one the API sent, one line
 * each (empty when they agree). Objects must have the same keys; arrays the same length, and
 * each element matches the README's element at its place; strings and numbers must be equal,
 * except for `VOLATILE` fields (ids, tokens, times), and `…` in a README string matches anything.
 */
export function jsonDifferences(expected: unknown, actual: unknown, path = "$", key = ""): string[] {
  const type = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);
  if (VOLATILE.has(key) && (type(expected) === type(actual) || actual === null || expected === null)) return [];
  if (type(expected) !== type(actual)) return [`${path}: README shows ${type(expected)}, the API sent ${type(actual)}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) {
      return [`${path}: README shows ${expected.length} items, the API sent ${actual.length}`];
    }
    return expected.flatMap((item, i) => jsonDifferences(item, actual[i], `${path}[${i}]`, key));
  }
  if (type(expected) === "object") {
    const [e, a] = [expected as Record<string, unknown>, actual as Record<string, unknown>];
    const missing = Object.keys(e).filter((name) => !(name in a));
    const extra = Object.keys(a).filter((name) => !(name in e));
    return [
      ...missing.map((name) => `${path}.${name}: in the README, not in the answer`),
      ...extra.map((name) => `${path}.${name}: in the answer, not in the README`),
      ...Object.keys(e)
        .filter((name) => name in a)
        .flatMap((name) => jsonDifferences(e[name], a[name], `${path}.${name}`, name)),
    ];
  }
  if (typeof expected === "string" && sameText(expected, actual as string)) return [];
  if (expected === actual) return [];
  return [`${path}: README shows ${JSON.stringify(expected)}, the API sent ${JSON.stringify(actual)}`];
}

/** Compares one body: as JSON when the README's is JSON, as text otherwise. */
export function bodyDifferences(expected: string, actual: string): string[] {
  let shown: unknown;
  try {
    shown = JSON.parse(expected);
  } catch {
    return sameText(expected.trim(), actual.trim()) ? [] : [`body: README shows ${expected}, the API sent ${actual}`];
  }
  try {
    return jsonDifferences(shown, JSON.parse(actual));
  } catch {
    return [`body: README shows JSON, the API sent ${JSON.stringify(actual.slice(0, 200))}`];
  }
}

/** Every way the output of a block differs from what the README shows after it. */
export function outputDifferences(expected: Expected, output: string): string[] {
  if (expected.kind !== "http") return bodyDifferences(expected.body, output.trim());
  const answers = splitResponses(output);
  if (answers.length === 0) return [`no HTTP answer in the output (use curl -i before an http block): ${output}`];
  return answers.flatMap((answer, i) => {
    const where = answers.length > 1 ? `answer ${i + 1}: ` : "";
    const problems: string[] = [];
    if (answer.status !== expected.status)
      problems.push(`status: README shows ${expected.status}, got ${answer.status}`);
    for (const [name, value] of expected.headers) {
      const got = answer.headers.find(([header]) => header === name)?.[1];
      if (got === undefined) problems.push(`header ${name}: missing`);
      else if (!sameText(value, got)) problems.push(`header ${name}: README shows ${value}, got ${got}`);
    }
    if (expected.body !== "" || answer.body !== "") problems.push(...bodyDifferences(expected.body, answer.body));
    return problems.map((problem) => where + problem);
  });
}
