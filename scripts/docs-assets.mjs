// Copies Swagger UI's standalone files from node_modules into public/docs/assets/swagger-ui/,
// where Workers static assets serve them to GET /docs: the renderer stays out of the worker
// bundle and no CDN is involved. Run by `npm install` (prepare), `npm run dev` and
// `npm run deploy` (scripts/deploy.mjs); the copies are git-ignored.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"];

/** Copies the files; returns the folder they are in. */
export function copyDocsAssets() {
  const from = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const to = fileURLToPath(new URL("../public/docs/assets/swagger-ui/", import.meta.url));
  mkdirSync(to, { recursive: true });
  for (const file of FILES) copyFileSync(join(from, file), join(to, file));
  return to;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(`Copied Swagger UI to ${copyDocsAssets()}`);
}
