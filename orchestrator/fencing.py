"""Fencing tokens: which attempt of a run segment may still write the run (cluster mode only).

Temporal runs one attempt of a segment at a time, but a worker starved past its heartbeat timeout
keeps driving its copy until it hears it lost the lease, while the next attempt already runs
elsewhere. Each attempt therefore takes a token (the run's attempt counter, incremented atomically
in the run records) and the stores that matter for accounting (history rows, the run record, the
published events, checkpoints) accept its writes only while that token is still the run's current
one, checked in the write's own transaction. A refused write `lose`s the fence: the stale attempt
stops quietly. Locally no fence is ever set, so nothing here runs.

Two ways to check in the write's transaction: a batch over several runs (history rows, events) reads
the tokens `FOR SHARE` in its explicit transaction (`stale`); a write of one run (a checkpoint, a tool
call's journal entry, a run record) goes in one pipeline that starts with `graphwright_fence_check`,
which share-locks the run's token and raises when it is not the writer's (`fenced`/`afenced`). A
pipeline in autocommit is one implicit transaction up to its sync, so an error there rolls back every
statement of it, and the lock holds until the writes commit: taking a new token waits for them.
That costs one statement per write (no BEGIN/COMMIT) and no round trip of its own.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
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


class FencedOut(Exception):
    """A stale attempt tried to write a run another attempt now drives."""


FENCE: ContextVar[Fence | None] = ContextVar("graphwright_fence", default=None)


def fence_of(run_id: str) -> Fence | None:
    """The calling segment's fence on `run_id`, if it runs under one."""
    fence = FENCE.get()
    return fence if fence is not None and fence.run_id == run_id else None


FENCED_SQLSTATE = "GW001"
FENCES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS graphwright_run_fences (
    run_id TEXT PRIMARY KEY,
    attempt BIGINT NOT NULL
);
CREATE OR REPLACE FUNCTION graphwright_fence_check(run TEXT, token BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE current BIGINT;
BEGIN
    SELECT attempt INTO current FROM graphwright_run_fences WHERE run_id = run FOR SHARE;
    IF current <> token THEN
        RAISE EXCEPTION 'run % is driven by attempt %, not %', run, current, token USING ERRCODE = '{FENCED_SQLSTATE}';
    END IF;
END $$
"""
CHECK_SQL = "SELECT graphwright_fence_check(%s, %s)"

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


def _raise_if_refused(fence: Fence, exc: BaseException) -> None:
    """`exc` is `graphwright_fence_check`'s refusal: the fence is lost, `FencedOut` raised."""
    if getattr(exc, "sqlstate", None) == FENCED_SQLSTATE:
        fence.lose()
        raise _lost(fence) from None


def _lost(fence: Fence) -> FencedOut:
    return FencedOut(f"run `{fence.run_id}` is driven by a newer attempt than {fence.attempt}")


@contextmanager
def fenced(con: object, fence: Fence) -> Iterator[None]:
    """The statements run on `con` (autocommit, psycopg) in the block commit only while `fence` is current,
    all or none; else raises `FencedOut` (the fence is lost)."""
    if fence.lost:
        raise _lost(fence)
    try:
        with con.pipeline():  # type: ignore[attr-defined]
            con.execute(CHECK_SQL, [fence.run_id, fence.attempt])  # type: ignore[attr-defined]
            yield
    except Exception as exc:
        _raise_if_refused(fence, exc)
        raise


@asynccontextmanager
async def afenced(con: object, fence: Fence) -> AsyncIterator[None]:
    """`fenced` on an async connection (LangGraph's checkpointer)."""
    if fence.lost:
        raise _lost(fence)
    try:
        async with con.pipeline():  # type: ignore[attr-defined]
            await con.execute(CHECK_SQL, [fence.run_id, fence.attempt])  # type: ignore[attr-defined]
            yield
    except Exception as exc:
        _raise_if_refused(fence, exc)
        raise
