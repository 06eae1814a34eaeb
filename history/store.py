"""The run-history store: one DuckDB file per data directory, owned by one process.

    store = HistoryStore.open()            # takes data_dir()/graphwright.lock, migrates, ingests the
                                           # inbox (`history.inbox`: CLI runs), marks crashed runs
    engine = Engine(sinks=[store.sink])    # events are queued; a writer thread inserts them in batches
    df = queries.kpis(store.read_cursor(), Filters(owner=user))
    store.close()                          # flushes the queue (also registered with atexit)

"Acknowledged" means committed by the writer: after `flush()` returns True (or `record(...,
wait=True)` returns) the rows are in the file and survive `kill -9`. `RunStarted` is recorded
synchronously by default, so a run killed before its first checkpoint still has a record.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from history.errors import HistoryLocked, HistoryWriteError, QueueFull
from history.inbox import Follower, Inbox, ingest_now
from history.ledger import RunLedger, StoreLedger
from history.migrations import migrate
from history.rows import TOTALS_SQL, SetTraceId, next_event_id
from history.slots import OwnerSlots, RunSlots
from history.writer import Writer
from orchestrator import events as ev
from orchestrator.paths import data_dir as default_data_dir

if TYPE_CHECKING:
    from history.mlflow_sink import MlflowTracer

log = logging.getLogger(__name__)

DB_NAME = "history.duckdb"
LOCK_NAME = "graphwright.lock"


def _take_lock(lock_path: Path) -> int:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise HistoryLocked(str(lock_path), int(text) if text.isdigit() else None) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def mlflow_enabled() -> bool:
    """MLflow tracing is opt-in: `GRAPHWRIGHT_MLFLOW=1` (the app may also pass `mlflow=True`)."""
    return os.environ.get("GRAPHWRIGHT_MLFLOW", "").strip().lower() in {"1", "true", "yes", "on"}


class HistoryStore:
    inbox_problems: list[str]  # spools of the inbox that could not be ingested (kept): say so to the person

    def __init__(
        self,
        path: str | Path,
        *,
        queue_size: int = 200_000,
        batch_size: int = 50_000,
        mlflow: bool | None = None,
    ) -> None:
        self.path = Path(path).resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _take_lock(self.path.parent / LOCK_NAME)
        try:
            self._con = duckdb.connect(str(self.path))
        except BaseException as exc:
            os.close(self._lock_fd)
            if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
                raise HistoryLocked(str(self.path), None) from exc  # a non-graphwright process holds it
            raise
        try:
            migrate(self._con)
            self._inbox = Inbox(self.path.parent)  # other processes' runs (the CLI's), spooled: in first
            ingest_now(self._con, self._inbox)
            self.inbox_problems = list(self._inbox.problems.values())
            self.interrupted_on_open = self.mark_interrupted_runs(live=self._inbox.live)
            self._cursors = [self._con.cursor()]  # every connection handed out, closed by close()
            self._writer = Writer(self._cursors[0], maxsize=queue_size, batch_size=batch_size, path=str(self.path))
        except BaseException:
            self._con.close()
            os.close(self._lock_fd)
            raise
        self._local = threading.local()
        self._now_lock = threading.Lock()
        self._now_cursor: duckdb.DuckDBPyConnection | None = None
        self._closed = False
        self._follower: Follower | None = None
        self.tracer: MlflowTracer | None = None
        if mlflow if mlflow is not None else mlflow_enabled():
            from history.mlflow_sink import MlflowTracer

            self.tracer = MlflowTracer(self.path.parent, on_trace_id=self.set_trace_id)
        atexit.register(self.close)

    @classmethod
    def open(cls, data_dir: str | Path | None = None, **kwargs: Any) -> HistoryStore:
        directory = Path(data_dir) if data_dir is not None else default_data_dir()
        return cls(directory / DB_NAME, **kwargs)

    # -- writing ------------------------------------------------------------------------------

    def record(self, event: ev.Event, *, wait: bool | None = None, timeout: float = 10.0) -> None:
        """Queue one event without blocking (RunStarted waits for its commit unless `wait=False`).

        Raises `QueueFull` (and logs a warning) when the writer is behind: never drops silently.
        """
        try:
            ticket = self._writer.put(event)
        except QueueFull as exc:
            log.warning("%s", exc)
            raise
        if self.tracer is not None:
            self.tracer.put(event)
        if wait if wait is not None else isinstance(event, ev.RunStarted):
            if not self._writer.wait(ticket, timeout):
                log.warning("history: '%s' of run '%s' not committed after %.1fs", event.type, event.run_id, timeout)

    @property
    def sink(self) -> Callable[[ev.Event], None]:
        """A callable for the engine: records, and turns a full queue into a logged warning.

        The run goes on when history cannot keep up; `stats()["rejected"]` counts what was refused.
        """

        def _sink(event: ev.Event) -> None:
            try:
                self.record(event, timeout=2.0)  # RunStarted waits for its commit, briefly
            except (QueueFull, HistoryWriteError) as exc:
                log.warning("history did not record '%s' of run '%s': %s", event.type, event.run_id, exc)

        return _sink

    def execute_now(self, sql: str, params: list[Any]) -> None:
        """Run one small write at once and commit it (the quota ledger: it must count before a run starts)."""
        with self._now_lock:
            if self._now_cursor is None:
                self._now_cursor = self._con.cursor()
                self._cursors.append(self._now_cursor)
            self._now_cursor.execute(sql, params)

    def log_checks(self, report: Any, owner: str = "") -> None:
        """With MLflow tracing on, log a check run as an MLflow evaluation (after its runs' traces)."""
        if self.tracer is not None:
            from history.mlflow_checks import evaluation_job

            self.tracer.put_job(evaluation_job(report, owner))

    def transaction_now(self, statements: list[tuple[str, list[Any]]]) -> None:
        """Run several small writes at once, all or none (an ownership claim moves rows in five tables)."""
        self.flush()  # rows still queued for the claimed runs land first, so the claim moves them too
        with self._now_lock:
            if self._now_cursor is None:
                self._now_cursor = self._con.cursor()
                self._cursors.append(self._now_cursor)
            cur = self._now_cursor
            cur.execute("BEGIN TRANSACTION")
            try:
                for sql, params in statements:
                    cur.execute(sql, params)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def follow_inbox(self, interval: float = 1.0) -> None:
        """Ingest other processes' spooled runs while this store is open (the app: a CLI run made
        meanwhile shows in the dashboards within about `interval` seconds of its events)."""
        if self._follower is None:
            self._follower = Follower(self._inbox, self._writer, self.read_cursor, interval)

    def set_trace_id(self, run_id: str, trace_id: str) -> None:
        self._writer.put(SetTraceId(run_id, trace_id))

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything queued so far is committed. False on timeout; raises the write error."""
        if self.tracer is not None:  # first: it may queue trace ids for the writer
            self.tracer.flush(timeout)
        return self._writer.wait(self._writer.enqueued, timeout)

    def stats(self) -> dict[str, Any]:
        w = self._writer
        return {"enqueued": w.enqueued, "committed": w.committed, "rejected": w.rejected,
                "error": str(w.error) if w.error else None}  # fmt: skip

    # -- reading ------------------------------------------------------------------------------

    def read_cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own cursor on the file (DuckDB connections are not thread-safe)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
            self._cursors.append(cur)
        return cur

    def run_slots(self) -> RunSlots:
        """The visitors' concurrent-run slots: in memory, since this one process runs everything."""
        return OwnerSlots()

    def run_ledger(self) -> RunLedger:
        """The quota ledger's admissions: one step under this process's lock (it alone writes the file)."""
        return StoreLedger(self)

    # -- lifecycle ----------------------------------------------------------------------------

    def mark_interrupted_runs(self, live: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Runs still 'running' belong to a process that died (we hold the lock): mark them
        interrupted, append a `run_interrupted` event to their log, and total their final steps.

        Except `live` ones: runs of a spool still being written (a CLI run going on right now)."""
        con = self._con
        rows = con.execute(
            "SELECT r.run_id, r.segments - 1, greatest("
            " (SELECT coalesce(max(seq), 0) FROM events e WHERE e.run_id = r.run_id AND e.segment = r.segments - 1),"
            " (SELECT coalesce(max(seq), 0) FROM llm_calls c WHERE c.run_id = r.run_id AND c.segment = r.segments - 1)),"
            " greatest((SELECT max(ts) FROM events e WHERE e.run_id = r.run_id),"
            " (SELECT max(ts) FROM llm_calls c WHERE c.run_id = r.run_id))"
            " FROM runs r WHERE status = 'running'"
        ).fetchall()
        rows = [row for row in rows if row[0] not in live]
        if not rows:
            return []
        next_id = next_event_id(con)
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute("BEGIN TRANSACTION")
        for offset, (run_id, segment, last_seq, last_ts) in enumerate(rows):
            event = ev.RunInterrupted(run_id=run_id, seq=last_seq + 1, reason="process_died")
            con.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                [next_id + offset, run_id, event.seq, now, event.type, event.model_dump_json(), segment],
            )
            con.execute(
                "UPDATE runs SET status = 'interrupted', reason = 'process_died', finished_at = ?,"
                " message = 'the app stopped while this run was in flight; resume it from its last checkpoint'"
                " WHERE run_id = ?",
                [last_ts or now, run_id],
            )
        con.execute(TOTALS_SQL, [[r[0] for r in rows]])
        con.execute("COMMIT")
        log.warning("history: marked %d runs interrupted (the previous process died)", len(rows))
        return [r[0] for r in rows]

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if self._follower is not None:
            self._follower.close()
        if self.tracer is not None:
            self.tracer.close(timeout)
        try:
            self.flush(timeout)
        except HistoryWriteError as exc:
            log.error("history closing with unwritten events: %s", exc)
        self._writer.close(timeout)
        for cur in self._cursors:
            cur.close()
        self._con.close()
        os.close(self._lock_fd)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
