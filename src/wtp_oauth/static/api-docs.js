// Swagger UI for /api/docs, from files served by this server (no inline script: CSP).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // The session cookie and the secrets typed into "Authorize" stay in this tab.
    persistAuthorization: false,
    withCredentials: true,
  });
});
