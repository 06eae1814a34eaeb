"""Stop, delivered fast: the app replica tells the worker driving a run through PostgreSQL.

Temporal hands an activity its cancellation only in the answer to the activity's next heartbeat,
so a Stop within a second used to need a heartbeat every 0.1 s: 12 heartbeat RPCs per 2-second
run, each one a write of the workflow's state in Temporal's store, and the Temporal server's
largest cost per run (measured: ~40 ms of its ~130 ms of CPU per run). Now the Stop takes two
paths at once:

- **fast:** the app replica announces it on one PostgreSQL channel (`pg_notify`, payload
  `<run id>:<workflow run id>`), on which every worker process listens once (`StopListener`); the
  worker driving that run's segment cancels it at once, by the same code path as Temporal's
  cancellation (the run records `run_cancelled`, its sandbox containers are removed), and the
  segment ends normally, reporting the run cancelled;
- **durable:** the app cancels the run's workflow, as before. Should the announcement be lost
  (PostgreSQL restarting, a worker re-making its listening connection), Temporal's cancellation
  reaches the segment with its next heartbeat, now sent every quarter of the heartbeat timeout.

The workflow run id confines an announcement to the workflow it stops: a stopped run resumed at once
is a new workflow, which that Stop must not cancel. An announcement that arrives before its
segment registers here (the segment was just starting on this worker) is kept for `KEEP_S` and
stops the segment as it registers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "graphwright_run_stops"
KEEP_S = 60.0
ANNOUNCE_TIMEOUT_S = 2.0  # PostgreSQL unreachable: Temporal's cancellation still stops the run


def payload(run_id: str, workflow_run_id: str) -> str:
    return f"{run_id}:{workflow_run_id}"


class StopListener:
    """A worker's side: one connection listening on `CHANNEL`, and the segments running here."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._segments: dict[str, Callable[[], None]] = {}
        self._early: dict[str, float] = {}  # announcements for no segment (yet), by payload: when they came
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        """Listen from the running event loop (the worker's) until `close()`."""
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def register(self, run_id: str, workflow_run_id: str, stop: Callable[[], None]) -> Callable[[], None]:
        """`stop` is called (on this loop) when a Stop of this run's workflow is announced; returns the
        unregistering function. A Stop announced just before is applied now."""
        key = payload(run_id, workflow_run_id)
        self._segments[key] = stop
        if self._early.pop(key, None) is not None:
            stop()

        def unregister() -> None:
            if self._segments.get(key) is stop:
                del self._segments[key]

        return unregister

    def announced(self, key: str) -> None:
        stop = self._segments.get(key)
        if stop is not None:
            log.info("stop announced for %s: cancelling its segment", key)
            stop()
            return
        now = time.monotonic()
        self._early = {k: t for k, t in self._early.items() if now - t < KEEP_S}
        self._early[key] = now

    async def _listen(self) -> None:
        import psycopg

        while True:
            try:
                con = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                try:
                    await con.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    async for note in con.notifies():
                        self.announced(note.payload)
                finally:
                    self.listening.clear()
                    with contextlib.suppress(Exception):
                        await con.close()
            except psycopg.OperationalError as exc:  # PostgreSQL restarting: Temporal's path covers the gap
                log.warning("lost the stop channel, listening again: %s", exc)
                await asyncio.sleep(0.5)


async def stop_workflow(dsn: str, handle: Any) -> None:
    """The app's Stop of a run's workflow: announced to its worker (fast), and cancelled in Temporal (durable).

    Raises Temporal's `RPCError` when the workflow does not exist or has already ended, as `cancel` does."""
    async def announce() -> None:
        from cluster.event_feed import notify

        try:
            async with asyncio.timeout(ANNOUNCE_TIMEOUT_S):
                workflow_run_id = handle.result_run_id or (await handle.describe()).run_id
                await notify(dsn, CHANNEL, payload(handle.id, workflow_run_id))
        except Exception as exc:  # noqa: BLE001 - no workflow, PostgreSQL away: the cancellation still stops it
            log.info("stop of run %s not announced to its worker (%s); Temporal's cancellation delivers it",
                     handle.id, exc)

    announcing = asyncio.ensure_future(announce())
    try:
        await handle.cancel()
    finally:
        await announcing
