"""One shared Kiwi analyzer per process, created on first use (loading it takes about a second)."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_kiwi: Any = None


def get_kiwi() -> Any:
    """The process-wide ``kiwipiepy.Kiwi``; thread-safe for analysis calls."""
    global _kiwi
    if _kiwi is None:
        with _lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                _kiwi = Kiwi()
    return _kiwi
