"""Regenerate the generated parts of the docs (the settings table). Run by `make docs`."""

from __future__ import annotations

from pathlib import Path

from aiharness.settings_docs import replace_marked_section, settings_table

ROOT = Path(__file__).resolve().parent.parent
TARGETS = [ROOT / "README.md", ROOT / "docs" / "configuration.md"]

for target in TARGETS:
    updated = replace_marked_section(target.read_text(encoding="utf-8"), settings_table())
    target.write_text(updated, encoding="utf-8")
    print(f"updated {target.relative_to(ROOT)}")
