"""Reads a GGUF file's metadata header (no llama.cpp needed): the architecture, the context
length the model was trained with, its name and chat template. Tensors are never read."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"GGUF"
# value type -> struct format of a scalar (8 = string, 9 = array are handled apart)
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_MAX_KEYS = 100_000
_MAX_STRING = 64 * 1024 * 1024


class GGUFError(ValueError):
    """The file is not a GGUF model file (or is truncated)."""


@dataclass(frozen=True)
class GGUFInfo:
    architecture: str
    context_length: int | None
    name: str | None
    chat_template: str | None


def _read(f: BinaryIO, size: int) -> bytes:
    data = f.read(size)
    if len(data) != size:
        raise GGUFError("the file ends inside its header")
    return data


def _unpack(f: BinaryIO, fmt: str) -> Any:
    return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]


def _string(f: BinaryIO) -> str:
    length = int(_unpack(f, "<Q"))
    if length > _MAX_STRING:
        raise GGUFError("a header string is implausibly long")
    return _read(f, length).decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _unpack(f, _SCALARS[kind])
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        item = int(_unpack(f, "<I"))
        count = int(_unpack(f, "<Q"))
        if item in _SCALARS:  # skip fixed-size items in one seek
            f.seek(struct.calcsize(_SCALARS[item]) * count, 1)
        else:
            for _ in range(count):
                _value(f, item)
        return None
    raise GGUFError(f"unknown metadata value type {kind}")


def read_gguf_info(path: Path) -> GGUFInfo:
    """The metadata of the GGUF file at ``path`` (OSError when unreadable, GGUFError when not
    GGUF)."""
    wanted: dict[str, Any] = {}
    with path.open("rb") as f:
        if f.read(4) != MAGIC:
            raise GGUFError(f"{path.name} is not a GGUF file")
        version = int(_unpack(f, "<I"))
        if version < 2:
            raise GGUFError(f"{path.name}: GGUF version {version} is too old (need 2 or later)")
        _unpack(f, "<Q")  # tensor count
        keys = int(_unpack(f, "<Q"))
        if keys > _MAX_KEYS:
            raise GGUFError(f"{path.name}: implausible metadata count {keys}")
        for _ in range(keys):
            key = _string(f)
            kind = int(_unpack(f, "<I"))
            value = _value(f, kind)
            wanted[key] = value
    architecture = str(wanted.get("general.architecture") or "")
    if not architecture:
        raise GGUFError(f"{path.name} names no architecture (general.architecture)")
    context = wanted.get(f"{architecture}.context_length")
    name = wanted.get("general.name")
    template = wanted.get("tokenizer.chat_template")
    return GGUFInfo(
        architecture=architecture,
        context_length=int(context) if isinstance(context, int) and context > 0 else None,
        name=name if isinstance(name, str) else None,
        chat_template=template if isinstance(template, str) else None,
    )
