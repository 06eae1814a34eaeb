"""Fencing tokens: which attempt of a run segment may still write the run (cluster mode only).

Temporal runs one attempt of a segment at a time, but a worker starved past its heartbeat timeout
keeps driving its copy until it hears it lost the lease, while the next attempt already runs
elsewhere. Each attempt therefore takes a token (the run's attempt counter, incremented atomically
in the run records) and the stores that matter for accounting (history rows, the run record, the
published events, checkpoints) accept its writes only while that token is still the run's current
one, checked in the write's own transaction. A refused write `lose`s the fence: the stale attempt
stops quietly. Locally no fence is ever set, so nothing here runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Fence:
    """One attempt's token on one run; `on_lost` is called (once, from any thread) when a write is refused."""

    run_id: str
    attempt: int
    on_lost: Callable[[], None] = lambda: None
    lost: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def lose(self) -> None:
        with self._lock:
            if self.lost:
                return
            self.lost = True
        self.on_lost()


FENCE: ContextVar[Fence | None] = ContextVar("graphwright_fence", default=None)


def fence_of(run_id: str) -> Fence | None:
    """The calling segment's fence on `run_id`, if it runs under one."""
    fence = FENCE.get()
    return fence if fence is not None and fence.run_id == run_id else None


FENCES_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphwright_run_fences (
    run_id TEXT PRIMARY KEY,
    attempt BIGINT NOT NULL
)
"""

# The current tokens of some runs, share-locked until the write's transaction ends: taking a new token
# (an UPDATE) waits for the write, and a write after it sees the new token and is refused.
CURRENT_SQL = "SELECT run_id, attempt FROM graphwright_run_fences WHERE run_id = ANY(%s) FOR SHARE"


def stale(con: object, fences: list[Fence]) -> set[tuple[str, int]]:
    """Of `fences`, the (run, attempt) pairs no longer current, read in `con`'s transaction; they are lost."""
    if not fences:
        return set()
    current = dict(con.execute(CURRENT_SQL, [sorted({f.run_id for f in fences})]).fetchall())  # type: ignore[attr-defined]
    refused = {(f.run_id, f.attempt) for f in fences if current.get(f.run_id, f.attempt) != f.attempt}
    for f in fences:
        if (f.run_id, f.attempt) in refused:
            f.lose()
    return refused
