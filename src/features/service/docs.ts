import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { describe, doc, named } from "../../platform/openapi/describe";
import { openApiDocument } from "../../platform/openapi/document";

/** The files of public/docs/assets/: the page's script, and Swagger UI as
 * scripts/docs-assets.mjs copies it there. */
const ASSETS = "/docs/assets";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-auth-api reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS}/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${ASSETS}/swagger-ui/swagger-ui-bundle.js"></script>
<script src="${ASSETS}/docs.js"></script>
</body>
</html>
`;

// Scripts from this origin only (the initializer is a file, not inline). Swagger UI sets
// inline styles and uses data: images; "Try it out" calls this API, on this origin.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The API's own reference: the OpenAPI document of `api`'s routes (this router's among
 * them, once mounted), a page that renders it, and the page's files from Workers static
 * assets (`[assets]` in wrangler.toml). */
export const docs = (api: Parameters<typeof openApiDocument>[0]) =>
  new Hono<AppEnv>()
    .get(
      "/openapi.json",
      describe({
        operationId: "getOpenApi",
        tag: "Service",
        summary: "This document",
        access: "public",
        ok: {
          status: 200,
          description: "OpenAPI 3.1",
          json: named("OpenApiDocument", doc(z.record(z.string(), z.unknown()), "An OpenAPI 3.1 document: this one")),
          cacheControl: "no-cache",
        },
        database: false,
      }),
      (c) => {
        c.header("Cache-Control", "no-cache");
        return c.json(openApiDocument(api, new URL(c.req.url).origin));
      },
    )
    .get(
      "/docs",
      describe({
        operationId: "getDocs",
        tag: "Service",
        summary: "This document, rendered for reading",
        description: "Swagger UI, served from this worker's static assets: no CDN, works offline.",
        access: "public",
        ok: {
          status: 200,
          description: "An HTML page",
          text: { "text/html": "<!doctype html>…" },
          cacheControl: "no-cache",
        },
        database: false,
      }),
      (c) => {
        c.header("Cache-Control", "no-cache");
        // The other security headers come from src/platform/http/security-headers.ts.
        c.header("Content-Security-Policy", CSP);
        return c.html(PAGE);
      },
    )
    // The page's files: static files for /docs, not an API operation, so middleware (no
    // `describe`, no entry in the OpenAPI document or the typed client). GET and HEAD.
    .use(`${ASSETS}/*`, async (c, next) => {
      if (c.req.method !== "GET" && c.req.method !== "HEAD") return next();
      const asset = await c.env.ASSETS.fetch(c.req.raw);
      if (asset.status === 404) throw new ApiError("not_found");
      // A fetched response's headers are immutable; later middleware adds to them.
      return new Response(asset.body, asset);
    });
