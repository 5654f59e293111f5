"""One shared Kiwi analyzer per process, created on first use (loading it takes about a second).

Kiwi's multi-word dictionary (proper nouns spanning spaces, e.g. "자연어 처리" as one token) and its
web-typo dictionary are left out: building them holds the GIL for about 2.5 s on first use, which
stalls every request of the API process while it warms up, and search is better off with the
parts of a multi-word name as separate terms (a query naming one part still matches). On
autorag-ko, queries tokenize identically and sentence splits are unchanged without them.
"""

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

                _kiwi = Kiwi(load_multi_dict=False, load_typo_dict=False)
    return _kiwi
