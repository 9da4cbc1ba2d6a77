// Renders /openapi.json with Swagger UI, which scripts/docs-assets.mjs copies next to this
// file from node_modules (no CDN). A file rather than an inline script, so the page's CSP
// can refuse inline scripts.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Otherwise Swagger UI sends the document to a public validator for a badge.
  validatorUrl: null,
});
