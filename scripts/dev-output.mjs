// What `npm run dev` shows of wrangler's output: the lines that tell something, not the
// ~500 a clean start prints (banners, the migration tables, the bindings table, the
// `Request.cf` fetch that cannot work offline, the scheduled-handler hint whose URL answers
// 500 here). `--verbose` shows everything. Kept apart from scripts/dev.mjs so the dev
// script's own steps stay easy to follow.

import { stripVTControlCharacters } from "node:util";

/** Summarises `wrangler d1 migrations apply --local` output as one line. */
export function migrationSummary(output) {
  if (/No migrations to apply/i.test(output)) return "D1: the local database is up to date";
  const applied = /About to apply (\d+) migration/.exec(output);
  return applied
    ? `D1: applied ${applied[1]} migration${applied[1] === "1" ? "" : "s"} to the local database`
    : "D1: migrations applied to the local database";
}

/** Lines of `wrangler dev` output that are dropped (matched after colour codes are gone). */
const NOISE = [
  /^\s*⛅️ wrangler /, // the banner
  /^─+$/,
  /^Using secrets defined in \.dev\.vars/,
  /^Using vars defined in \.dev\.vars/,
  /^Your Worker has access to the following bindings:/,
  /^Binding\s+Resource\s+Mode/,
  /^env\.\S+/, // the bindings table
  /^[│├┌└]/,
  /^⎔ Starting local server/,
  /^\[wrangler:warn\] Unable to fetch the `Request\.cf` object/,
  /^Error: getaddrinfo ENOTFOUND workers\.cloudflare\.com/,
  /^\s+at GetAddrInfoReqWrap\./,
  /^\s*$/,
];

/** The multi-line hint wrangler prints for cron triggers without `--test-scheduled`: its
 * URL answers 500 here; scripts/dev.mjs prints the `/__scheduled` one instead. */
const SCHEDULED_START = /Scheduled Workers are not automatically triggered during local development/;
const SCHEDULED_BODY =
  /^\s*(To manually trigger a scheduled event|curl ".*\/cdn-cgi\/handler\/scheduled"|For more details, see)/;

/**
 * A line filter for `wrangler dev`'s output: `keep(line)` returns the line to print, or
 * `undefined` to drop it.
 */
export function devOutputFilter() {
  return (line) => {
    const plain = stripVTControlCharacters(line);
    if (SCHEDULED_START.test(plain)) return undefined;
    if (SCHEDULED_BODY.test(plain)) return undefined;
    if (NOISE.some((pattern) => pattern.test(plain))) return undefined;
    return line;
  };
}

/** Pipes `from` to `to` line by line through `keep`. */
export function pipeLines(from, to, keep) {
  let rest = "";
  from.setEncoding("utf8");
  const write = (line) => {
    const kept = keep(line);
    if (kept !== undefined) to.write(`${kept}\n`);
  };
  from.on("data", (chunk) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) write(line);
  });
  from.on("end", () => {
    if (rest) write(rest);
  });
}
