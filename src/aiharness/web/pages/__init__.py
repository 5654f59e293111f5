"""The UI's pages: ``dashboard`` (the shell's own) and one module per feature, named after it.

A pages module has ``router`` (whole pages, from ``page_router()``), optionally ``fragments``
(HTMX partials and actions, from ``fragment_router()``) and ``NAV`` (its menu sections); the web
shell finds the module of each installed feature by name, so no central list names them.
"""
