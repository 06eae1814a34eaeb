"""The DuckDB file's writer: the shared queue thread (`history.queue_writer`) with rows from the tracker.

The thread builds rows from a batch of events (`history.rows.Tracker`), inserts them column-wise
(see `columns.py`) and commits once per batch: acknowledged means committed (the commit wrote
DuckDB's WAL before `committed` moved), so a ticket <= `committed` survives `kill -9`.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from history.columns import append_columns
from history.queue_writer import QueueWriter
from history.rows import END_RUNS_SQL, INSERT_RUNS_SQL, TOTALS_SQL, Batch, Tracker, columns

log = logging.getLogger(__name__)


class Writer(QueueWriter):
    retried: tuple[type[BaseException], ...] = (duckdb.Error, OSError)

    def __init__(self, con: Any, *, maxsize: int, batch_size: int, path: str, tracker: Tracker | None = None) -> None:
        self._con = con
        self._tracker = tracker if tracker is not None else Tracker(con)
        super().__init__(maxsize=maxsize, batch_size=batch_size, path=path)

    def _convert(self, items: list[Any]) -> Batch:
        batch = Batch()
        try:
            convert(self._tracker, items, batch)  # reads the database: a failure there is retried like a write
        except self.retried:
            raise
        except Exception:  # a bug turning events into rows: report loudly, keep serving
            log.exception("history could not convert %d events; they are not recorded", len(items))
            batch = Batch(count=len(items))
        return batch

    def _write(self, batch: Batch) -> None:
        write_batch(self._con, batch)


def convert(tracker: Tracker, items: list[Any], batch: Batch) -> None:
    """Add `items` (events, commands, inbox chunks) to `batch` as rows."""
    tracker.prepare(items)
    for item in items:
        tracker.add(item, batch)
    tracker.finish_batch(batch)


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """One batch in one transaction: all of its rows and statements, or none."""
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
