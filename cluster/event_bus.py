"""A run's events from the worker that drives it to whichever app replica its visitor is on.

The worker records every event in Postgres (`graphwright_run_events`, keyed by run and `seq`) and
announces each committed batch on one channel (`NOTIFY graphwright_run_events, '<run_id>:<seq>'`);
each app replica listens on that channel once (`cluster.event_feed`) and, for the runs its visitors
watch, reads the rows after the last `seq` it has. Because the rows are the record and the
notification only says "look", a subscriber that connects late (the visitor reconnected to another
replica) first reads the run's trace as recorded and then goes on live.

One thread per worker process writes the events in `seq` order, at most once per `FLUSH_S` (so a
model streaming hundreds of tokens a second makes a few transactions a second) but without waiting
when the last write is older than that (an isolated event, e.g. a run's end, goes out at once).
Each batch is one statement, rows and notifications together (one round trip, one transaction). A
terminal event is flushed before the activity reports its segment done.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from cluster.event_feed import CHANNEL, last_seq, subscribe
from orchestrator import events as ev
from orchestrator.fencing import fence_of
from orchestrator.fencing import stale as fence_stale

__all__ = ["CHANNEL", "EventPublisher", "ensure_schema", "last_seq", "subscribe"]
log = logging.getLogger(__name__)

FLUSH_S = 0.03
_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphwright_run_events (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event JSONB NOT NULL,
    PRIMARY KEY (run_id, seq)
)
"""
# The batch's rows, then one notification per run in it; notifications go out when the statement commits.
_RECORD = f"""
WITH recorded AS (
    INSERT INTO graphwright_run_events (run_id, seq, event)
    SELECT * FROM unnest(%s::text[], %s::int8[], %s::jsonb[]) ON CONFLICT DO NOTHING
)
SELECT pg_notify('{CHANNEL}', note) FROM unnest(%s::text[]) AS note
"""


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
        """Write what is queued: at once when the last write is `FLUSH_S` old (an event alone waits for
        nothing), else when it gets that old (what arrives meanwhile joins the batch); a `flush()`
        waiter is served at once."""
        import time

        con = None
        stop = False
        last_write = 0.0
        while not stop:
            item = self._queue.get()
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
                left = last_write + FLUSH_S - time.monotonic()
                if waiters or len(batch) >= 5000:
                    break
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                last_write = time.monotonic()
            con = self._write(con, batch)
            for waiter in waiters:
                waiter.set()
        if con is not None:
            con.close()

    def _write(self, con: Any, batch: list[tuple[str, int, str, Any]]) -> Any:
        """Record and announce the batch; retried on a lost connection (a Postgres restart).

        A retry after a commit whose answer was lost records nothing twice (`ON CONFLICT DO NOTHING`);
        its notifications only make subscribers look once more. Events a segment published under a
        fencing token that is no longer current are left out (checked in the same transaction)."""
        import time

        import psycopg

        if not batch:
            return con
        run_ids, seqs, events, _ = (list(column) for column in zip(*batch, strict=True))
        notes = [f"{run_id}:{seq}" for run_id, seq in _last_seq_per_run(batch).items()]
        for attempt in range(600):  # ~5 min of reconnecting before events are given up on
            try:
                if con is None or con.closed:
                    con = psycopg.connect(self.dsn, autocommit=True)
                fences = [f for *_, f in batch if f is not None]
                if not fences:  # no fenced segment in the batch: one round trip
                    con.execute(_RECORD, (run_ids, seqs, events, notes))
                    return con
                with con.transaction():
                    refused = fence_stale(con, fences)
                    rows = [(r, s, e) for r, s, e, f in batch if f is None or (f.run_id, f.attempt) not in refused]
                    if rows:
                        kept = [f"{run_id}:{seq}" for run_id, seq in _last_seq_per_run(rows).items()]
                        con.execute(_RECORD, (*(list(column) for column in zip(*rows, strict=True)), kept))
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


def _last_seq_per_run(batch: list[tuple[Any, ...]]) -> dict[str, int]:
    last: dict[str, int] = {}
    for run_id, seq, *_ in batch:
        last[run_id] = max(seq, last.get(run_id, 0))
    return last
