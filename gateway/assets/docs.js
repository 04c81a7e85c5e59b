// The docs page: Swagger UI (served by the gateway) over the gateway's own document.
window.ui = SwaggerUIBundle({
  url: '/v1/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // Nothing is fetched from elsewhere: no validator badge.
  validatorUrl: null,
});
