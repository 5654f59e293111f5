"""Every page at a phone/tablet width (390 px) and a desktop width (1280 px), in Korean and
English: nothing scrolls the page sideways (wide tables scroll inside their card), and badges
and buttons stay on one line. Screenshots land in test-output/layout/ for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SeededPlatform
from tests.e2e.site import page_paths

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WIDTHS = (390, 1280)
LOCALES = {"ko": "ko-KR", "en": "en-US"}
# The API docs are the vendored Swagger UI / ReDoc layouts: checked offline, not here.
NOT_OURS = ("/docs", "/redoc")

# Elements (badges, buttons, nav links) that wrapped onto more than one line.
WRAPPED = """() => [...document.querySelectorAll('.badge, button, .topbar nav a, .lang')]
  .filter(el => el.offsetParent !== null)
  .filter(el => {
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const box = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom)
      + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
    return el.getBoundingClientRect().height - box > line * 1.5;
  })
  .map(el => el.outerHTML.slice(0, 120))"""

# Text squeezed into a column so narrow that it stacks a syllable or two per line.
STACKED = """() => [...document.querySelectorAll('th, td, dt, dd, li, p, a, small, label, h1, h2')]
  .filter(el => el.offsetParent !== null && el.innerText.trim().length >= 3)
  .filter(el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Map();  // line top -> [left, right] of the text on that line
    for (const r of range.getClientRects()) {
      if (r.width === 0) continue;
      const top = Math.round(r.top), [l, rt] = lines.get(top) || [r.left, r.right];
      lines.set(top, [Math.min(l, r.left), Math.max(rt, r.right)]);
    }
    const widths = [...lines.values()].map(([l, r]) => r - l);
    const em = parseFloat(getComputedStyle(el).fontSize);
    return widths.length >= 3 && Math.max(...widths) < em * 2.5;
  })
  .map(el => el.outerHTML.slice(0, 120))"""

OVERFLOW = """() => ({
  scroll: document.documentElement.scrollWidth,
  client: document.documentElement.clientWidth,
  widest: [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .filter(el => !el.closest('.table-scroll'))
    .slice(0, 3).map(el => el.outerHTML.slice(0, 120)),
})"""


def _slug(path: str) -> str:
    path = re.sub(r"/[0-9a-f]{16,}|/\d+(?=/|$)", "/id", path.lower())  # one file per page kind
    return re.sub(r"[^a-z0-9]+", "-", path).strip("-") or "dashboard"


@pytest.mark.parametrize("lang", list(LOCALES))
def test_pages_fit_narrow_and_wide_screens(
    seeded_platform: SeededPlatform, browser: Any, test_output_dir: Path, lang: str
) -> None:
    base = seeded_platform.base_url
    shots = test_output_dir / "layout"
    shots.mkdir(exist_ok=True)
    problems: list[str] = []
    checked = 0
    paths: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(
            viewport={"width": width, "height": 844}, locale=LOCALES[lang]
        )
        page = context.new_page()
        if not paths:  # found once, at the first width
            paths = [p for p in page_paths(page, base) if p not in NOT_OURS]
        placeholder_seen = False
        for path in paths:
            page.goto(base + path)
            page.wait_for_load_state("load")
            if page.locator("[data-placeholder]").count():
                # The "not yet" sections all render one template: the first stands for all.
                if placeholder_seen:
                    continue
                placeholder_seen = True
            page.wait_for_timeout(150)  # HTMX's first partials
            page.screenshot(path=str(shots / f"{lang}-{width}-{_slug(path)}.png"), full_page=True)
            size = page.evaluate(OVERFLOW)
            if size["scroll"] > size["client"]:
                problems.append(
                    f"{width}px {path}: page is {size['scroll']}px wide: {size['widest']}"
                )
            problems += [f"{width}px {path}: wraps: {html}" for html in page.evaluate(WRAPPED)]
            problems += [f"{width}px {path}: stacked: {h}" for h in page.evaluate(STACKED)]
            checked += 1
        context.close()
    assert checked >= 2 * 6, f"only {checked} pages were checked"
    assert not problems, "\n".join(problems)
