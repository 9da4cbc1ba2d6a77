// `npm run docs:generate`: writes the docs that have one source of truth in the code.
// - docs/api.md's error table, from ERRORS in src/platform/errors.ts;
// - docs/configuration.md's settings table, wrangler.toml's [vars] block and .dev.vars.example,
//   from SETTINGS in src/platform/settings.ts (each setting's doc with its parser's bounds; a family
//   such as SOCIAL_<ID>_CLIENT_ID once, as an example line in wrangler.toml and .dev.vars.example);
// - docs/security.md's single-use table, from RETIRED_BY and RETIRE_REASONS in src/identity/retirement.ts.
// Each generated part of those Markdown files and wrangler.toml sits between two marker comments;
// the rest of those files is hand-written and left alone.
// `--check` writes nothing and exits 1 when a file differs from what it would write
// (scripts/check-generated.mjs runs it in CI).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tsImport } from "tsx/esm/api";

const root = new URL("..", import.meta.url);
const check = process.argv.includes("--check");
const { ERRORS } = await tsImport("../src/platform/errors.ts", import.meta.url);
const { SETTINGS } = await tsImport("../src/platform/settings.ts", import.meta.url);
const { describe } = await tsImport("../src/platform/settings-read.ts", import.meta.url);
const { RETIRED_BY, RETIRE_REASONS, SESSION_EVENTS } = await tsImport("../src/identity/retirement.ts", import.meta.url);

const DEFAULT_HINT = "none; `npm run dev` makes one locally";

/** A Markdown table with padded columns, the way Biome formats the docs' other tables. */
function table(header, rows) {
  const cells = [header, ...rows].map((row) => row.map((cell) => String(cell).replaceAll("|", "\\|")));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(cells[0]), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)].join(
    "\n",
  );
}

function errorTable() {
  const rows = Object.entries(ERRORS)
    .sort(([, a], [, b]) => a[0] - b[0])
    .map(([code, [status, message, when]]) => [`\`${code}\``, status, message, when ?? ""]);
  return table(["code", "status", "default message", "when"], rows);
}

function settingsTable() {
  const kinds = { var: "var", secret: "secret", internal: "tests only" };
  const rows = SETTINGS.map((s) => [
    `\`${s.name}\``,
    kinds[s.kind],
    s.kind === "var"
      ? s.default === ""
        ? `\`""\` (${s.derived ?? "off"})`
        : `\`${s.default}\``
      : s.generate
        ? DEFAULT_HINT
        : "none",
    describe(s),
  ]);
  return table(["name", "kind", "default", "meaning"], rows);
}

/** Each single-use purpose, the account events that retire it (a session event only the
 * rows that session asked for; deletion by cascade), and why. */
function singleUseTable() {
  const rows = Object.entries(RETIRE_REASONS).map(([purpose, why]) => {
    const events = Object.entries(RETIRED_BY)
      .filter(([, purposes]) => purposes.includes(purpose))
      .map(([event]) => {
        if (event === "account_deleted") return "`account_deleted` (cascade)";
        return SESSION_EVENTS.has(event) ? `\`${event}\` (that session's)` : `\`${event}\``;
      });
    return [`\`${purpose}\``, events.join(", "), why];
  });
  return table(["purpose", "retired by", "why"], rows);
}

/** `text` as `#` comment lines of at most `width` characters. */
function comment(text, width = 92) {
  const plain = text.replaceAll("`", "");
  const lines = [];
  let line = "#";
  for (const word of plain.split(/\s+/)) {
    if (line.length + word.length + 1 > width && line !== "#") {
      lines.push(line);
      line = "#";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join("\n");
}

function varsBlock() {
  const secrets = SETTINGS.filter((s) => s.kind === "secret").map((s) => s.name);
  const parts = [
    comment(
      `Non-secret settings with their defaults. Secrets (${secrets.join(", ")}) never go here: wrangler secret put in production, .dev.vars locally (npm run dev fills it).`,
    ),
    "[vars]",
  ];
  for (const s of SETTINGS.filter((s) => s.kind === "var")) {
    // A family's members are named by their ids: its line is an example to copy.
    const line = `${s.name} = ${JSON.stringify(s.default ?? "")}`;
    parts.push(comment(describe(s)), s.each ? `# ${line}` : line);
  }
  return parts.join("\n");
}

function devVarsExample() {
  const parts = [
    "# Local secrets for `wrangler dev`: copy to .dev.vars (never committed), or just run",
    "# `npm run dev`, which creates .dev.vars and fills every empty value it can generate.",
    "# Generated from src/platform/settings.ts by `npm run docs:generate`.",
  ];
  for (const s of SETTINGS.filter((s) => s.kind === "secret")) {
    parts.push(comment(describe(s)), s.each ? `# ${s.name}=` : `${s.name}=`);
  }
  return `${parts.join("\n")}\n`;
}

/** Replaces what lies between `begin` and `end` (both lines kept) in `text`. */
function between(text, begin, end, body, file) {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end, start);
  if (start === -1 || stop === -1) throw new Error(`${file}: markers ${begin} ... ${end} not found`);
  return `${text.slice(0, start + begin.length)}\n${body}\n${text.slice(stop)}`;
}

/** A Markdown file whose part `name` (between its two marker comments) is `body()`. */
const markdown = (file, name, body) => [
  file,
  (text) =>
    between(text, `<!-- generated:${name} (npm run docs:generate) -->`, `<!-- /generated:${name} -->`, body(), file),
];

const outputs = [
  markdown("docs/api.md", "errors", errorTable),
  markdown("docs/security.md", "single-use", singleUseTable),
  markdown("docs/configuration.md", "settings", settingsTable),
  [
    "wrangler.toml",
    (text) =>
      between(
        text,
        "# generated:vars from src/platform/settings.ts (npm run docs:generate)",
        "# /generated:vars",
        varsBlock(),
        "wrangler.toml",
      ),
  ],
  [".dev.vars.example", () => devVarsExample()],
];

let stale = 0;
for (const [file, render] of outputs) {
  const path = fileURLToPath(new URL(file, root));
  const current = readFileSync(path, "utf8");
  const next = render(current);
  if (next === current) continue;
  if (check) {
    console.error(`${file} is out of date: run \`npm run docs:generate\` and commit it`);
    stale++;
  } else {
    writeFileSync(path, next);
    console.log(`wrote ${file}`);
  }
}
process.exit(stale > 0 ? 1 : 0);
