// .dev.vars, the local secrets of `wrangler dev`: created or completed by `npm run dev`.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tsImport } from "tsx/esm/api";
import { readDevVars } from "./config-check.mjs";

/** Creates .dev.vars, or completes an existing one: every secret of src/platform/settings.ts gets a
 * line (so the env wrangler dev sees matches the committed worker types), and an empty
 * secret that can be generated gets a fresh random value. Other lines are kept as they are.
 * A family of secrets (`SOCIAL_<ID>_CLIENT_SECRET`) gets no line: its ids are yours to list.
 * Resolves to what it did, for the console, or `undefined` when the file was complete. */
export async function fillDevVars(path) {
  const { SETTINGS } = await tsImport("../src/platform/settings.ts", import.meta.url);
  const existed = existsSync(path);
  let text = existed ? readFileSync(path, "utf8") : "# Local secrets, never committed.\n";
  const current = readDevVars(path);
  const filled = [];
  for (const setting of SETTINGS.filter((s) => s.kind === "secret" && !s.each)) {
    const value = current[setting.name];
    if (value !== undefined && value.trim() !== "") continue;
    const fresh = setting.generate === "hex32" ? randomBytes(32).toString("hex") : "";
    if (value === undefined) {
      text = `${text.replace(/\n?$/, "\n")}${setting.name}=${fresh}\n`;
    } else if (fresh) {
      text = text.replace(new RegExp(`^(\\s*(?:export\\s+)?${setting.name}\\s*=).*$`, "m"), `$1${fresh}`);
    } else {
      continue;
    }
    if (fresh) filled.push(setting.name);
  }
  if (existed && text === readFileSync(path, "utf8")) return undefined;
  writeFileSync(path, text, { mode: 0o600 });
  const what = filled.length > 0 ? ` with a random 256-bit ${filled.join(", ")}` : "";
  return existed ? `Completed .dev.vars${what}` : `Created .dev.vars${what}`;
}
