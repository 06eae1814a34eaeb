"""The background writer: a bounded queue drained in batches by one thread that owns the connection.

Callers never wait for disk: `put` appends to an in-memory queue or raises `QueueFull` (a full
queue is reported, never dropped silently). The thread takes everything queued (up to
`batch_size`), builds rows, inserts them column-wise (see `columns.py`) and commits once per batch.

Acknowledged means committed: every item with a ticket <= `committed` is in the file and survives
`kill -9` (the commit wrote DuckDB's WAL before `committed` moved). A batch that fails to write
(disk full, I/O error) is kept and retried with backoff; `error` says why until a retry succeeds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import duckdb

from history.columns import append_columns
from history.errors import HistoryWriteError, QueueFull
from history.rows import END_RUNS_SQL, INSERT_RUNS_SQL, TOTALS_SQL, Batch, Tracker, columns

log = logging.getLogger(__name__)


class Writer:
    retried: tuple[type[BaseException], ...] = (duckdb.Error, OSError)  # write failures kept and retried

    def __init__(self, con: Any, *, maxsize: int, batch_size: int, path: str, tracker: Tracker | None = None) -> None:
        self._con = con
        self._path = path
        self._maxsize = maxsize
        self._batch_size = batch_size
        self._pending: deque[Any] = deque()
        self._cv = threading.Condition()
        self.enqueued = 0  # tickets handed out
        self.committed = 0  # tickets durably written
        self.rejected = 0  # items refused because the queue was full
        self.error: HistoryWriteError | None = None
        self.failures = 0  # failed write attempts so far
        self._closing = False
        self._tracker = tracker if tracker is not None else Tracker(con)
        self._thread = threading.Thread(target=self._loop, name="history-writer", daemon=True)
        self._thread.start()

    def put(self, item: Any) -> int:
        """Queue one item without blocking; returns its ticket."""
        with self._cv:
            if self._closing:
                raise HistoryWriteError(f"the history store '{self._path}' is closed")
            if len(self._pending) >= self._maxsize:
                self.rejected += 1
                raise QueueFull(self._maxsize, getattr(item, "type", type(item).__name__))
            self._pending.append(item)
            self.enqueued += 1
            if len(self._pending) == 1:
                self._cv.notify_all()
            return self.enqueued

    def wait(self, ticket: int, timeout: float | None) -> bool:
        """Block until `ticket` is committed; raise the write error when an attempt fails meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            failures = self.failures
            while self.committed < ticket:
                if self.error is not None and self.failures > failures:
                    raise self.error
                if not self._thread.is_alive():
                    raise HistoryWriteError(f"the history writer of '{self._path}' stopped")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cv.wait(0.2 if remaining is None else min(remaining, 0.2))
        return True

    def close(self, timeout: float | None) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)

    def _take(self) -> list[Any] | None:
        with self._cv:
            while not self._pending and not self._closing:
                self._cv.wait(0.5)
            if not self._pending:
                return None
            n = min(len(self._pending), self._batch_size)
            return [self._pending.popleft() for _ in range(n)]

    def _loop(self) -> None:
        batch: Batch | None = None
        items: list[Any] | None = None
        delay = 0.05
        while True:
            try:
                if batch is None:
                    items = items or self._take()
                    if items is None:
                        return
                    batch = self._convert(items)
                self._write(batch)
            except self.retried as exc:
                count = batch.count if batch is not None else len(items or ())
                with self._cv:
                    self.error = HistoryWriteError(
                        f"could not write {count} history events to '{self._path}': {exc}; "
                        "they stay queued and are retried (free disk space if the disk is full)"
                    )
                    self.failures += 1
                    self._cv.notify_all()
                    closing = self._closing
                log.error("%s", self.error)
                if closing and delay > 1.0:
                    log.error("history store closing with %d unwritten events", count)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            with self._cv:
                self.committed += batch.count
                self.error = None
                self._cv.notify_all()
            batch, items, delay = None, None, 0.05

    def _convert(self, items: list[Any]) -> Batch:
        batch = Batch()
        try:
            self._tracker.prepare(items)  # reads the database: a failure there is retried like a write
            for item in items:
                self._tracker.add(item, batch)
            self._tracker.finish_batch(batch)
        except self.retried:
            raise
        except Exception:  # a bug turning events into rows: report loudly, keep serving
            log.exception("history could not convert %d events; they are not recorded", len(items))
            batch = Batch(count=len(items))
        return batch

    def _write(self, batch: Batch) -> None:
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            if batch.new_runs:
                con.execute(INSERT_RUNS_SQL, columns(batch.new_runs))
            for table, rows in (("steps", batch.steps), ("llm_calls", batch.calls), ("events", batch.events)):
                if rows:
                    append_columns(con, table, rows)
            for op in batch.ops:  # after the appends: some ops look at this batch's step rows
                con.execute(op.sql, op.params)
            if batch.ends:
                con.execute(END_RUNS_SQL, columns(batch.ends.values()))
                con.execute(TOTALS_SQL, [sorted(r for r, end in batch.ends.items() if end[1] != "finished")])
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
