"""HTML: visible text in document order, ``<h1>``-``<h6>`` as section headings, tables as rows."""

from __future__ import annotations

import warnings

from bs4 import BeautifulSoup
from bs4.element import Comment, NavigableString, Tag

from aiharness.knowledge.documents import ParsedDocument, ParsedSection
from aiharness.knowledge.encoding import decode_text
from aiharness.knowledge.parsers.common import HeadingPath, clean_text, keep, section

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "button"}
# Paragraph-like blocks are separated by a blank line, list items and table rows by a newline.
_PARAGRAPH = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "ul", "ol",
    "dl", "table", "pre", "blockquote", "hr", "figure", "form", "fieldset", "address", "details",
}  # fmt: skip
_LINE = {"li", "dt", "dd", "tr", "br", "figcaption", "caption", "summary"}
_CELL = {"td", "th"}


def parse_html(data: bytes, *, file_name: str) -> ParsedDocument:
    decoded = decode_text(data, file_name=file_name)
    with warnings.catch_warnings():
        # bs4 warns about markup that looks like a URL or file name; that is not our error.
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(decoded.text, "html.parser")
    title_tag = soup.find("title")
    title = clean_text(title_tag.get_text(" ")) if isinstance(title_tag, Tag) else None
    walker = _Walker()
    walker.walk(soup)
    sections = walker.finish()
    if not title:
        first = soup.find(["h1", "h2"])
        title = clean_text(first.get_text(" ")) if isinstance(first, Tag) else None
    return ParsedDocument(
        sections=sections,
        page_count=None,
        metadata={"encoding": decoded.encoding, "title": title or None},
    )


class _Walker:
    """Depth-first walk that flushes a section at each heading (iterative: deep markup is fine)."""

    def __init__(self) -> None:
        self.path = HeadingPath()
        self.parts: list[str] = []
        self.sections: list[ParsedSection | None] = []

    def walk(self, root: Tag) -> None:
        # Stack items: a node to visit, or a string to emit after a tag's children (closing breaks).
        stack: list[object] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, str) and not isinstance(node, NavigableString):
                self.parts.append(node)
            elif isinstance(node, Comment):
                continue
            elif isinstance(node, NavigableString):
                if type(node) is NavigableString:
                    self.parts.append(str(node))
            elif isinstance(node, Tag):
                self._visit_tag(node, stack)

    def _visit_tag(self, tag: Tag, stack: list[object]) -> None:
        name = (tag.name or "").lower()
        if name in _SKIP:
            return
        if name in _HEADINGS:
            title = clean_text(tag.get_text(" ")).replace("\n", " ")
            if title:
                self._flush()
                self.path.enter(_HEADINGS[name], title)
                self.parts = [title, "\n"]
            return
        if name in _CELL:
            stack.append(" | ")
        elif name in _PARAGRAPH:
            stack.append("\n\n")
            self.parts.append("\n\n")
        elif name in _LINE:  # a break before each item only: items in a row stay one line apart
            self.parts.append("\n")
        stack.extend(reversed(list(tag.children)))

    def _flush(self) -> None:
        text = "\n".join(line.strip(" |") for line in "".join(self.parts).split("\n"))
        self.sections.append(section(text, heading=self.path.current))
        self.parts = []

    def finish(self) -> list[ParsedSection]:
        self._flush()
        return keep(self.sections)
