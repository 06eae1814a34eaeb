"""Which runs a person is waiting for, so background work (the app's warm-up) can step aside.

CPython runs one thread at a time: a warm-up thread doing CPU work (its offline run, a full
garbage collection) while a person's first run streams takes the interpreter from that run at
every wait, and made a run clicked during the warm-up 1.8 times slower to its first token than one
clicked after it. The engine marks each segment it drives with `person_run()`; the warm-up asks
`active()` and `begun()` before each optional stage. The warm-up's own run is marked
`background()` and does not count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_BACKGROUND: ContextVar[bool] = ContextVar("graphwright_background_run", default=False)


class _Counts:
    """Person runs in this process: being driven now, and started so far. Process-wide on purpose
    (there is one interpreter to share); they count runs and say nothing about whose they are."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.begun = 0


_COUNTS = _Counts()


@contextmanager
def person_run() -> Iterator[None]:
    """Mark a run segment as one a person waits for (unless it is inside `background()`)."""
    if _BACKGROUND.get():
        yield
        return
    with _COUNTS.lock:
        _COUNTS.active += 1
        _COUNTS.begun += 1
    try:
        yield
    finally:
        with _COUNTS.lock:
            _COUNTS.active -= 1


@contextmanager
def background() -> Iterator[None]:
    """Runs started inside this block (and the tasks they start) are not a person's."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def active() -> int:
    """How many person runs are being driven in this process now."""
    return _COUNTS.active


def begun() -> int:
    """How many person runs this process has started so far (compare two readings)."""
    return _COUNTS.begun
