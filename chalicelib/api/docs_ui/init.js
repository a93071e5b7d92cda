// Swagger UI over this service's own OpenAPI document (no inline script: the
// page's Content-Security-Policy allows scripts from this origin only).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "none",
    defaultModelsExpandDepth: 0,
    // No call to the public validator (a third-party site) for a badge.
    validatorUrl: null,
    // "Try it out" sends real requests to this service: sign them with an
    // X-Auth-Token from POST /v3/auth/tokens (Authorize button).
    tryItOutEnabled: false,
  });
});
