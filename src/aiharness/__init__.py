"""Industrial AI Harness: a self-hosted, offline-first AI platform."""

# The one place the version is written (pyproject reads it: [tool.hatch.version]); a literal,
# because asking the installed metadata costs every CLI command ~50 ms.
__version__ = "0.1.0"
