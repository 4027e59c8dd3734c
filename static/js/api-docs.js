// Start Swagger UI on the generated OpenAPI document.
const target = document.getElementById("swagger-ui");
if (target && window.SwaggerUIBundle) {
  window.SwaggerUIBundle({ url: target.dataset.specUrl, dom_id: "#swagger-ui" });
}
