"""LiteLLM's default tokenizer, loaded when something counts tokens rather than at the first call.

LiteLLM 1.106 hands its cl100k tokenizer to every chat call, so the first call of a process loads
it (≈0.14 s and ≈38 MB of resident memory, before the request is even sent) although a streamed
reply that reports its usage never touches it. `defer_default_encoding` gives LiteLLM a stand-in
that loads the real tokenizer the first time anything uses it, so counting still works unchanged.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any


class LazyEncoding:
    """Stands in for a tokenizer; the first attribute read loads it (once, whichever thread asks)."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._real: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._real is not None

    def __getattr__(self, name: str) -> Any:  # only for names the stand-in does not have itself
        if self._real is None:
            with self._lock:
                if self._real is None:
                    self._real = self._load()
        return getattr(self._real, name)


def defer_default_encoding() -> LazyEncoding | None:
    """Put the stand-in where LiteLLM caches its default tokenizer (None: already loaded, or a
    LiteLLM without that cache, which then behaves as before)."""
    main = sys.modules.get("litellm.main")
    cache = vars(main).get("_encoding_cache", False) if main is not None else False
    if isinstance(cache, LazyEncoding):
        return cache
    if main is None or cache is not None or "encoding" in vars(main):
        return None
    try:
        from litellm._lazy_imports import get_default_encoding
    except ImportError:
        return None
    stand_in = LazyEncoding(get_default_encoding)
    main._encoding_cache = stand_in
    return stand_in
