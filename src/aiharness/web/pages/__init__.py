"""The UI's pages: ``dashboard`` (the shell's own) and one module per feature, named after it.

A pages module has ``router`` (whole pages, from ``page_router()``), optionally ``fragments``
(HTMX partials and actions, from ``fragment_router()``), ``NAV`` (its menu sections) and
optionally ``DASHBOARD`` (cards for the dashboard, each filled by one of its partials); the web
shell finds the module of each installed feature by name, so no central list names them.
"""
