"""Korean and English UI strings, chosen by ``?lang=``, a cookie, or ``Accept-Language``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED = ("ko", "en")
DEFAULT_LANG = "en"
LANG_COOKIE = "aiharness_lang"


@dataclass(frozen=True)
class Catalogs:
    strings: dict[str, dict[str, str]]

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Catalogs:
        """The shell's ``<lang>.json`` merged with each feature's ``<feature>/<lang>.json``
        (a feature's pages bring their own strings; a key defined twice is an error)."""
        strings: dict[str, dict[str, str]] = {}
        for lang in SUPPORTED:
            merged: dict[str, str] = {}
            for path in [directory / f"{lang}.json", *sorted(directory.glob(f"*/{lang}.json"))]:
                part = json.loads(path.read_text(encoding="utf-8"))
                twice = merged.keys() & part.keys()
                if twice:
                    raise ValueError(f"{path}: keys defined twice: {', '.join(sorted(twice))}")
                merged.update(part)
            strings[lang] = merged
        return cls(strings)

    def translate(self, lang: str, key: str, **params: object) -> str:
        # A missing key shows itself rather than a blank: tests check both catalogs are complete.
        text = self.strings.get(lang, {}).get(key) or self.strings[DEFAULT_LANG].get(key) or key
        return text.format(**params) if params else text


def parse_accept_language(header: str) -> str | None:
    """The first supported language by quality, e.g. ``ko-KR,ko;q=0.9,en;q=0.8`` gives ``ko``."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in SUPPORTED and quality > 0:
            choices.append((-quality, index, primary))
    return min(choices)[2] if choices else None


def choose_language(request: Request) -> str:
    explicit = request.query_params.get("lang")
    if explicit in SUPPORTED:
        return explicit
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in SUPPORTED:
        return cookie
    return parse_accept_language(request.headers.get("accept-language", "")) or DEFAULT_LANG
