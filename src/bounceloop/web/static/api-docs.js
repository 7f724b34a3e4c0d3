// Ours: starts the vendored Swagger UI on /api/docs. A file, not an inline <script>: the
// page's Content-Security-Policy allows scripts from this site only ('self'), as the UI's.
// Loaded with defer after swagger-ui-bundle.js, so the page is parsed and the bundle run;
// the page names the OpenAPI document in data-openapi-url on #swagger-ui.
"use strict";
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // No badge from validator.swagger.io: the page talks to this site only.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
