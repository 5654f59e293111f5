"""Server-rendered web UI: Jinja2 templates, HTMX for live parts, every asset vendored."""
