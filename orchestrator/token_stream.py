"""Join a model's streamed pieces into fewer `Token` events, without holding any of them back long.

A reply streams one piece per word or so; each piece as its own event means a stamp, the sinks
(history), LangGraph's stream writer and a wake-up of every consumer, per word. `TokenCoalescer`
passes a piece on at once when nothing was passed on for `interval` seconds (so the first token of a
reply, or the first after a pause, is never delayed) and otherwise gathers the pieces until
`interval` has passed since the last event or `max_pieces` are waiting, with a timer so a gathered
piece waits at most `interval` even when the stream stalls. The owner calls `flush` before anything
that must follow the text (the call's `LLMCall` event, the step's end).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

INTERVAL_S = 0.02
MAX_PIECES = 16


class TokenCoalescer:
    """Feeds `emit` the concatenation of the pieces given to `add`, in order, in fewer calls."""

    def __init__(self, emit: Callable[[str], None], *, interval: float = INTERVAL_S,
                 max_pieces: int = MAX_PIECES, clock: Callable[[], float] = time.monotonic) -> None:
        self._emit, self._interval, self._max, self._clock = emit, interval, max_pieces, clock
        self._pending: list[str] = []
        self._last = -float("inf")  # when the last event went out
        self._timer: asyncio.TimerHandle | None = None

    def add(self, text: str) -> None:
        if not text:
            return
        self._pending.append(text)
        waited = self._clock() - self._last
        if waited >= self._interval or len(self._pending) >= self._max:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop to wake us later: never hold a piece back
                self.flush()
                return
            self._timer = loop.call_later(self._interval - waited, self.flush)

    def flush(self) -> None:
        """Pass on every gathered piece now (a no-op when none waits)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._last = self._clock()
            self._emit(text)
