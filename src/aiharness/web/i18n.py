"""Korean and English UI strings, chosen by ``?lang=``, a cookie, or ``Accept-Language``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED = ("ko", "en")
DEFAULT_LANG = "en"
LANG_COOKIE = "aiharness_lang"


@dataclass(frozen=True)
class Catalogs:
    strings: dict[str, dict[str, str]]
    # Features' own message patterns (see ``feature_phrases``), built once when loaded.
    derived: tuple[tuple[str, re.Pattern[str]], ...] = ()

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
        return cls(strings, tuple(feature_phrases(strings[DEFAULT_LANG])))

    def translate(self, lang: str, key: str, **params: object) -> str:
        # A missing key shows itself rather than a blank: tests check both catalogs are complete.
        text = self.strings.get(lang, {}).get(key) or self.strings[DEFAULT_LANG].get(key) or key
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self.strings[DEFAULT_LANG]

    def phrase(self, lang: str, text: str) -> str | None:
        """``text`` (a message the server wrote in English: a job's note, a health detail, an
        error) in ``lang`` when it is one of the known ``PHRASES`` or matches the English text
        of a feature's ``msg.*`` key; None when it is not."""
        for key, pattern in (*PHRASES, *self.derived):
            match = pattern.fullmatch(text.strip())
            if match is not None:
                params = {k: ("0" if v == "no" else v) for k, v in match.groupdict().items()}
                if params.get("detail"):  # a message inside a message ("step x failed: ...")
                    params["detail"] = self.phrase(lang, params["detail"]) or params["detail"]
                return self.translate(lang, key, **params)
        return None

    def duration(self, lang: str, seconds: float) -> str:
        """``18 min 44 s`` / ``18분 44초``: the two largest units, never raw seconds."""
        if seconds < 60:
            shown = round(seconds, 1) if seconds < 10 else int(seconds)
            return self.translate(lang, "duration.s", n=f"{shown:g}")
        rest = int(seconds)
        parts: list[str] = []
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
            amount, rest = divmod(rest, size)
            if amount or parts:
                parts.append(self.translate(lang, f"duration.{unit}", n=amount) if amount else "")
            if len(parts) == 2:
                break
        return " ".join(p for p in parts if p)


# Messages the platform writes in English (stored with jobs, or built by health checks and
# services) that the UI shows translated; each is a catalog key and a full-match pattern whose
# named groups fill the key's placeholders. Unknown messages are shown as written.
PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.DOTALL))
    for key, pattern in [
        ("msg.job.cancelled_before_run", r"cancelled before it ran"),
        ("msg.job.cancel_requested", r"cancellation requested; the job stops at its next check"),
        ("msg.job.cancelled_running", r"cancelled while running"),
        ("msg.job.retried_by_hand", r"retried by hand"),
        ("msg.job.permanent_error", r"permanent error"),
        ("msg.job.no_attempts_left", r"no attempts left"),
        (
            "msg.job.requeued",
            r"re-queued: worker (?P<worker>\S+) stopped responding during attempt "
            r"(?P<attempt>\d+) of (?P<max>\d+)",
        ),
        (
            "msg.job.worker_lost",
            r"worker (?P<worker>\S+) stopped responding during attempt (?P<attempt>\d+) of "
            r"(?P<max>\d+); no attempts left",
        ),
        ("msg.job.waiting_queue", r"waiting for the queue: (?P<detail>.+)"),
        (
            "msg.job.retry_scheduled",
            r"attempt (?P<attempt>\d+) of (?P<max>\d+) failed; next attempt in (?P<delay>[\d.]+) s",
        ),
        ("msg.job.handed_back", r"handed back by stopping worker (?P<worker>\S+)"),
        ("msg.job.docs_failed", r"(?P<failed>\d+) of (?P<total>\d+) documents failed"),
        (
            "msg.progress.documents_failed",
            r"(?P<settled>\d+)/(?P<total>\d+) documents, (?P<failed>\d+) failed",
        ),
        ("msg.progress.documents", r"(?P<settled>\d+)/(?P<total>\d+) documents"),
        ("msg.progress.passages", r"(?P<done>\d+)/(?P<total>\d+) passages"),
        ("msg.health.db_ok", r"(?P<dialect>\w+), revision (?P<rev>\S+)"),
        (
            "msg.health.db_behind",
            r"(?P<where>.+) is at revision (?P<current>\S+), expected (?P<head>\S+); "
            r"run `aiharness db upgrade`",
        ),
        (
            "msg.health.kb_tables_missing",
            r"the knowledge tables are missing; run `aiharness db upgrade`",
        ),
        (
            "msg.health.index_ok",
            r"(?P<dialect>\w+): (?P<chunks>\d+) chunks in (?P<collections>\d+) collections?",
        ),
        ("msg.health.embedder_loading", r"loading the embedding model"),
        ("msg.health.embedder_ok", r"(?P<name>.+), (?P<dim>\d+) dimensions"),
        (
            "msg.health.queue_ok",
            r"(?P<backend>.+) queue '(?P<name>[^']+)': (?P<pending>\d+) waiting; "
            r"(?P<live>\d+|no) live workers?",
        ),
        ("msg.event.started", r"aiharness (?P<version>\S+) started"),
        ("msg.event.stopped", r"aiharness stopped"),
        ("msg.doc.empty", r"(?P<file>.+) is empty\."),
        ("msg.doc.no_text", r"(?P<file>.+) contains no text(?: to index)?\."),
        ("msg.doc.whitespace", r"(?P<file>.+) contains only whitespace\."),
        (
            "msg.doc.password",
            r"(?P<file>.+) is (?:a password-protected PDF; remove the password first|"
            r"encrypted \(password-protected\); remove the password)\.",
        ),
        (
            "msg.doc.binary",
            r"(?P<file>.+) looks like binary data, not text \(it contains NUL bytes\)\.",
        ),
        (
            "msg.doc.unsupported",
            r"(?P<file>.+): file type (?P<type>\S+) is not supported\. "
            r"Supported types: (?P<supported>.+)\.",
        ),
        ("msg.doc.stored_missing", r"(?P<file>.+): the stored file is missing; upload it again"),
        ("msg.err.document_missing", r"document (?P<id>\d+) does not exist"),
        ("msg.err.job_missing", r"job (?P<id>\S+) does not exist"),
        (
            "msg.err.collection_missing",
            r"collection (?P<name>'[^']*'|\"[^\"]*\") does not exist;.*",
        ),
        ("msg.err.not_found", r"Not Found"),
        ("msg.err.query_empty", r"the query is empty"),
    ]
)


def feature_phrases(english: dict[str, str]) -> list[tuple[str, re.Pattern[str]]]:
    """A feature translates its own messages with ``msg.*`` keys: the English text with its
    ``{placeholders}`` is the pattern (``"{up}/{total} backends up"``), no code needed."""
    known = {key for key, _ in PHRASES}
    return [
        (key, template_pattern(text))
        for key, text in english.items()
        if key.startswith("msg.") and key not in known
    ]


def template_pattern(template: str) -> re.Pattern[str]:
    """``"{file} is empty."`` -> a full-match pattern with a named group per placeholder."""
    parts = re.split(r"\{(\w+)\}", template)
    seen: set[str] = set()
    pattern = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern.append(re.escape(part))
        elif part in seen:
            pattern.append(f"(?P={part})")
        else:
            seen.add(part)
            pattern.append(f"(?P<{part}>.+?)")
    return re.compile("".join(pattern), re.DOTALL)


def iso_utc(moment: datetime) -> str:
    """An ISO 8601 instant with its offset; stored times without one are UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
