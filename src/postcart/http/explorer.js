// Starts Swagger UI on /docs with this server's OpenAPI document. A file, not an inline script, so the
// page can forbid inline scripts (see PAGE_CSP in explorer.py).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    deepLinking: true,
    filter: true,
    displayRequestDuration: true,
    // Swagger UI would otherwise send the document to a public validator for a badge.
    validatorUrl: null,
  });
});
