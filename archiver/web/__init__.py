"""`archiver serve`: the web interface, server-rendered pages over the same library functions as the CLI.

- app: builds the Starlette application (middleware, templates, routes of each area and of
  the plugins' web extensions);
- security: who may use it (loopback, password, token), CSRF on every form, response headers;
- pages: helpers every page uses (a database read, rendering a template);
- one module per area: dashboard, sources (the table), source (one source, its captures, the
  comparison of two), archived (an archived page viewed safely), work (adding sources, captures now);
- extension: what a plugin (the evidence package) adds: routes, templates, dashboard panels,
  source filters.
"""
