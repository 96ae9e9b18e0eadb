// /docs: Swagger UI on this app's /openapi.json (a file, not an inline script: the pages' CSP allows scripts from
// this origin only). Links inside the description stay on this server.
window.ui = window.SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  layout: 'BaseLayout',
  presets: [window.SwaggerUIBundle.presets.apis],
  validatorUrl: null,  // the default validator badge asks a remote service; nothing leaves this server
  tryItOutEnabled: false,
});
