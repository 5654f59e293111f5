"""Citation markers in an answer: one canonical form, only numbers of passages given, and the
model's "the documents do not say" recognised as a refusal.

Models write citations in many shapes: ``[1]``, ``[1, 2]``, ``[1][2]``, ``[1-3]``, ``【1】``,
``［1］``, ``[^1]``, ``[source 1]``, ``[문서 1]``. All become ``[1]``-style markers; a marker that
points at no passage the model was given is removed (never renumbered: ``n`` is the number
the reader sees next to the source).
"""

from __future__ import annotations

import re
from collections.abc import Collection

# One bracketed group of citation numbers: "[1]", "[1, 2]", "[1-3]", "【2】", "[^4]",
# "[source 1]", "[Passage 2, 3]", "[문서 1]", "[출처 2]".
_GROUP = re.compile(
    r"[\[【［]\s*\^?\s*"
    r"(?:(?:source|sources|passage|passages|doc|document|ref|출처|문서|자료|근거)\s*)?"
    r"(\d{1,3}(?:\s*(?:[,，、;]|-|–|~|and|&)\s*\d{1,3})*)"
    r"\s*[\]】］]",
    re.IGNORECASE,
)
_NUMBER_OR_RANGE = re.compile(r"(\d{1,3})\s*(?:(?:-|–|~)\s*(\d{1,3}))?")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_MAX_RANGE = 20

# What a model writes when the passages do not answer the question (besides our sentence).
_NOT_FOUND = re.compile(
    r"(documents?|passages?|sources?|context)\s+(do(es)?\s+not|don't|doesn't)\s+"
    r"(say|mention|contain|include|provide|state|cover|specify)"
    r"|not\s+(found|mentioned|stated|covered|specified)\s+in\s+the\s+(documents?|passages?|"
    r"sources?|context)"
    r"|no\s+(information|mention)\s+(about|on|of|regarding)\b.*\b(documents?|passages?)"
    r"|(문서|자료|본문|구절|주어진\s*(내용|정보))(에서|에는|에|로는|만으로는|들에는|들에서)\s*"
    r"[^.。!?\n]{0,30}?"
    r"(찾을\s*수\s*없|확인할\s*수\s*없|알\s*수\s*없|나와\s*있지\s*않|"
    r"언급(되어\s*있지|하지|되지)\s*않|(내용|정보|답|언급)[이가은는]?\s*없)",
    re.IGNORECASE,
)


def _numbers(group: str) -> list[int]:
    found: list[int] = []
    for match in _NUMBER_OR_RANGE.finditer(group):
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else start
        if end < start or end - start > _MAX_RANGE:
            end = start
        found.extend(range(start, end + 1))
    return found


def normalize(text: str) -> str:
    """Every citation group rewritten as adjacent ``[n]`` markers (``[1, 2]`` -> ``[1][2]``)."""
    return _GROUP.sub(lambda m: "".join(f"[{n}]" for n in _numbers(m.group(1))), text)


def clean(text: str, valid: Collection[int]) -> tuple[str, list[int]]:
    """The answer with only markers of ``valid`` passages, each at most once per spot, and the
    cited numbers in order of first appearance."""
    text = normalize(text)
    cited: list[int] = []

    def keep(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in valid:
            return ""
        if n not in cited:
            cited.append(n)
        return match.group(0)

    text = _MARKER.sub(keep, text)
    text = re.sub(r"(\[\d{1,3}\])(?:\1)+", r"\1", text)  # "[1][1]" -> "[1]"
    text = re.sub(r"[ \t]+([.,;:!?。])", r"\1", text)  # space left before punctuation
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip(), cited


def markers(text: str) -> list[int]:
    """Marker numbers in ``text`` (after normalising), in order, repeats included."""
    return [int(m.group(1)) for m in _MARKER.finditer(normalize(text))]


def says_not_found(text: str, not_found: str) -> bool:
    """True when the answer is (or opens with) a refusal: ours, or the model's own words."""
    stripped = text.strip()
    if not stripped:
        return True
    head = _MARKER.sub("", normalize(stripped))[:300]
    exact = not_found.strip().rstrip(".。")
    if exact and exact in head:
        return True
    first = re.split(r"(?<=[.!?。])\s+", normalize(stripped), maxsplit=1)[0]
    if _MARKER.search(first):
        return False  # it cites a passage for what it says: an answer, not a refusal
    return bool(_NOT_FOUND.search(first[:300]))
