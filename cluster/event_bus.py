"""A run's events from the worker that drives it to whichever app replica its visitor is on.

The worker records every event in Postgres (`graphwright_run_events`, keyed by run and `seq`) and
sends a `NOTIFY` on the run's channel once per committed batch; an app replica `LISTEN`s on the
channels of the runs its visitors watch, and on each notification reads the rows after the last
`seq` it has. Because the rows are the record and the notification only says "look", a subscriber
that connects late — the visitor reconnected to another replica — first reads the run's trace as
recorded and then goes on live, and a lost notification costs at most one `POLL_S` of lag.

Batches are flushed every `FLUSH_S` by one thread per worker process (so a model streaming
hundreds of tokens a second makes a few transactions a second), in `seq` order; a terminal event
is flushed before the activity reports its segment done.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from orchestrator import events as ev
from orchestrator.fencing import fence_of
from orchestrator.fencing import stale as fence_stale

log = logging.getLogger(__name__)

FLUSH_S = 0.03
POLL_S = 1.0  # a subscriber re-reads this often even without a notification
_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphwright_run_events (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event JSONB NOT NULL,
    PRIMARY KEY (run_id, seq)
)
"""


def channel(run_id: str) -> str:
    """The run's NOTIFY channel (a quoted identifier: run ids are hex or uuid-like, never quotes)."""
    return '"gw_' + run_id.replace('"', "")[:56] + '"'


def ensure_schema(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("SELECT pg_advisory_lock(hashtext('graphwright_run_events'))")
        try:
            con.execute(_SCHEMA)
        finally:
            con.execute("SELECT pg_advisory_unlock(hashtext('graphwright_run_events'))")


class EventPublisher:
    """The worker side: an event sink (`publish`) and the thread that records and announces batches."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        ensure_schema(dsn)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="graphwright-events", daemon=True)
        self._closed = False
        self._thread.start()

    def publish(self, event: ev.Event) -> None:
        """The sink: called on the run's event loop, so it only queues."""
        self._queue.put((event.run_id, event.seq, event.model_dump_json(), fence_of(event.run_id)))

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until everything queued so far is committed (True) or `timeout` passes."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.flush()
            self._queue.put(None)
            self._thread.join(10)

    def _loop(self) -> None:
        import time

        con = None
        stop = False
        while not stop:
            item = self._queue.get()
            deadline = time.monotonic() + FLUSH_S  # nothing waits longer than this after the first item
            batch: list[tuple[str, int, str, Any]] = []
            waiters: list[threading.Event] = []
            while True:
                if item is None:
                    stop = True
                    break
                if isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                left = deadline - time.monotonic()
                if left <= 0 or len(batch) >= 5000:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            con = self._write(con, batch)
            for waiter in waiters:
                waiter.set()
        if con is not None:
            con.close()

    def _write(self, con: Any, batch: list[tuple[str, int, str, Any]]) -> Any:
        """Insert the batch and notify each run's channel; retried on a lost connection (Postgres restart).

        Events a segment published under a fencing token that is no longer current are left out."""
        import time

        import psycopg

        if not batch:
            return con
        for attempt in range(600):  # ~5 min of reconnecting before events are given up on
            try:
                if con is None or con.closed:
                    con = psycopg.connect(self.dsn)
                with con.transaction(), con.cursor() as cur:
                    refused = fence_stale(con, [f for *_, f in batch if f is not None])
                    rows = [(r, s, e) for r, s, e, f in batch if f is None or (f.run_id, f.attempt) not in refused]
                    cur.executemany("INSERT INTO graphwright_run_events (run_id, seq, event) VALUES (%s, %s, %s)"
                                    " ON CONFLICT DO NOTHING", rows)
                    for run_id, seq in _last_seq_per_run(rows).items():
                        cur.execute(f"NOTIFY {channel(run_id)}, '{int(seq)}'")
                return con
            except psycopg.OperationalError as exc:
                if attempt == 0:
                    log.warning("could not record %d run events, reconnecting: %s", len(batch), exc)
                if con is not None:
                    con.close()
                con = None
                time.sleep(0.5)
        log.error("gave up recording %d run events", len(batch))
        return con


def _last_seq_per_run(batch: list[tuple[str, int, str]]) -> dict[str, int]:
    last: dict[str, int] = {}
    for run_id, seq, _ in batch:
        last[run_id] = max(seq, last.get(run_id, 0))
    return last


async def last_seq(dsn: str, run_id: str) -> int:
    """The highest recorded `seq` of a run (0 when none): a follower that already shows the trace starts after it."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as con:
        row = await (await con.execute("SELECT coalesce(max(seq), 0) FROM graphwright_run_events WHERE run_id = %s",
                                       (run_id,))).fetchone()
    return int(row[0]) if row else 0


@asynccontextmanager
async def subscribe(dsn: str, run_id: str, after: int = 0) -> AsyncIterator[_Listener]:
    """Listen to a run's events (the listening starts on entering), yielding those after `after`.

    Enter before starting or signalling the run so nothing is missed; iterate to get the recorded
    events first, then the live ones. The iterator never ends by itself: the caller stops at the
    event that ends what it waits for.
    """
    listener = _Listener(dsn, run_id, after)
    await listener.connect()
    try:
        yield listener
    finally:
        await listener.close()


class _Listener:
    """The events of one run after `after`, in `seq` order as they arrive (an async iterator), and
    `missed()`: recorded ones it passed over. A worker that lost its lease but had not heard yet can
    record events with higher `seq`s than the attempt that replaced it; reading "after the last seq
    seen" then skips the live attempt's own events, its last one included (seen in the soak test)."""

    def __init__(self, dsn: str, run_id: str, after: int = 0) -> None:
        self.dsn, self.run_id, self.after = dsn, run_id, after
        self.con: Any = None
        self.seen: set[int] = set()
        self._events: AsyncIterator[ev.Event] | None = None

    def __aiter__(self) -> _Listener:
        return self

    async def __anext__(self) -> ev.Event:
        if self._events is None:
            self._events = self.follow(self.after)
        return await anext(self._events)

    async def missed(self) -> list[ev.Event]:
        """Recorded events after `after` not yielded yet, in `seq` order (on a connection of its own)."""
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as con:
            rows = await (await con.execute(
                "SELECT seq, event FROM graphwright_run_events WHERE run_id = %s AND seq > %s ORDER BY seq",
                (self.run_id, self.after))).fetchall()
        return [ev.parse_event(data if isinstance(data, dict) else json.loads(data))
                for seq, data in rows if seq not in self.seen]

    async def connect(self) -> None:
        import psycopg

        self.con = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await self.con.execute(f"LISTEN {channel(self.run_id)}")

    async def close(self) -> None:
        if self.con is not None:
            await self.con.close()

    async def follow(self, after: int) -> AsyncIterator[ev.Event]:
        import asyncio

        import psycopg

        last = after
        while True:
            try:
                rows = await (await self.con.execute(
                    "SELECT seq, event FROM graphwright_run_events WHERE run_id = %s AND seq > %s ORDER BY seq",
                    (self.run_id, last))).fetchall()
                for seq, data in rows:
                    last = seq
                    self.seen.add(seq)
                    yield ev.parse_event(data if isinstance(data, dict) else json.loads(data))
                async for _note in self.con.notifies(timeout=POLL_S, stop_after=1):
                    pass
            except psycopg.OperationalError:  # Postgres restarted: listen again, then read what was missed
                await self.close()
                while True:
                    try:
                        await self.connect()
                        break
                    except psycopg.OperationalError:
                        await asyncio.sleep(0.5)
