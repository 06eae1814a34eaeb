"""The history store in cluster mode: PostgreSQL is the system of record, DuckDB answers the queries.

    store = PgHistoryStore(dsn)            # creates/extends the tables (`history.pg_schema`)
    engine = Engine(sinks=[store.sink])    # the same queue and batching writer as locally
    df = queries.kpis(store.read_cursor(), Filters(owner=user))   # the same DuckDB SQL

Any number of processes write at once. The rows are the local store's (`history.rows.Tracker`);
only the statements differ: each batch is one PostgreSQL transaction whose inserts are
`ON CONFLICT DO NOTHING` on the row's key, so a batch written again after a lost connection (its
COMMIT may have landed) is counted once. "Acknowledged" means the same as locally: after `flush()`
returns True the rows are committed (and survive a PostgreSQL restart). A failed write stays queued
and is retried on a fresh connection.

Unlike the local store, opening does not mark 'running' runs interrupted: another worker may be
running them. Reads go through `history.pg_mirror` (the analytics mechanism: see docs/scaling.md).
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType
from typing import Any

import duckdb
import numpy as np
import psycopg

from history.columns import _TYPES
from history.pg_mirror import PgMirror
from history.pg_schema import KEYS, migrate_pg
from history.pg_slots import PgRunLedger, PgRunSlots
from history.rows import END_RUNS_SQL, INSERT_RUNS_SQL, TOTALS_SQL, Batch, SetTraceId, Tracker, _Run, columns
from history.store import HistoryStore
from history.writer import Writer
from orchestrator.fencing import fence_of
from orchestrator.fencing import stale as fence_stale

log = logging.getLogger(__name__)
WHERE = "the PostgreSQL history"
_ARRAY = MappingProxyType({"VARCHAR": "text", "TIMESTAMP": "timestamp", "DOUBLE": "float8", "BIGINT": "int8",
                          "INTEGER": "int4", "BOOLEAN": "bool"})  # fmt: skip
_ARTIFACT_PG = """
INSERT INTO artifacts (run_id, name, step_id, format, bytes, sha256, ts, owner) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (run_id, name) DO UPDATE SET step_id = EXCLUDED.step_id, format = EXCLUDED.format, bytes = EXCLUDED.bytes,
    sha256 = EXCLUDED.sha256, ts = EXCLUDED.ts, owner = EXCLUDED.owner
"""


@cache
def to_pg(sql: str) -> str:
    """The writer's few DuckDB statements in PostgreSQL's dialect (they are fixed: a small, tested map)."""
    if sql.lstrip().startswith("INSERT OR REPLACE INTO artifacts"):
        return _ARTIFACT_PG
    sql = sql.replace("epoch(e.ts) - epoch(runs.started_at)", "extract(epoch FROM e.ts - runs.started_at)")
    sql = re.sub(r"::DOUBLE\[\]", "::float8[]", sql)
    return sql.replace("?", "%s")


def _micros(values: list[Any]) -> list[int]:
    """Epoch seconds to whole microseconds, truncated exactly as the local store's numpy cast does."""
    return (np.array(values, dtype=np.float64) * 1e6).astype(np.int64).tolist()


def _table_columns(table: str, rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    kinds = _TYPES[table][1]
    return [_micros(c) if k == "t" else c for c, k in zip(columns(rows), kinds, strict=True)]


SMALL_BATCH = 500  # rows: up to this many, a batch is one pipelined round trip; above, COPY is cheaper
_PY = MappingProxyType({"float8": float, "int8": int, "int4": int, "bool": bool})


class _Insert:
    """A batch's rows of one table, inserted with `ON CONFLICT DO NOTHING` on the row's key.

    A big batch goes by `COPY` into a temporary table, then one `INSERT ... SELECT` (arrays of
    parameters cost 3x more per row); a small one (the live case: the few events of a run's last
    30 ms) as one `INSERT ... SELECT FROM unnest(arrays)`, which can share a pipeline with the rest
    of its transaction instead of three round trips per table."""

    def __init__(self, table: str, types: dict[str, str]) -> None:
        names, kinds = _TYPES[table]
        self.table, self.names = table, names
        pg_types = [("int8" if k == "t" else _ARRAY[types[n]]) for n, k in zip(names, kinds, strict=True)]
        self._casts = [_PY.get(t) for t in pg_types]
        temp = ", ".join(f"{n} {t}" for n, t in zip(names, pg_types, strict=True))
        self.create = f"CREATE TEMP TABLE _in_{table} ({temp}) ON COMMIT DROP"
        self.copy = f"COPY _in_{table} ({', '.join(names)}) FROM STDIN"
        cols = [f"'epoch'::timestamp + {n} * interval '1 microsecond'" if k == "t" else n
                for n, k in zip(names, kinds, strict=True)]
        into = f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(cols)} FROM"
        conflict = f"ON CONFLICT ({', '.join(KEYS[table])}) DO NOTHING"
        self.insert = f"{into} _in_{table} {conflict}"
        arrays = ", ".join(f"%s::{t}[]" for t in pg_types)
        self.insert_arrays = f"{into} unnest({arrays}) AS _in_{table} ({', '.join(names)}) {conflict}"

    def run(self, con: Any, rows: list[tuple[Any, ...]]) -> None:
        con.execute(self.create)
        with con.cursor().copy(self.copy) as copy:
            for row in zip(*_table_columns(self.table, rows), strict=True):
                copy.write_row(row)
        con.execute(self.insert)

    def queue(self, con: Any, rows: list[tuple[Any, ...]]) -> None:
        """The small batch's statement (in the caller's pipeline); each column's values of one Python type."""
        params = [c if cast is None else [None if v is None else cast(v) for v in c]
                  for c, cast in zip(_table_columns(self.table, rows), self._casts, strict=True)]
        con.execute(self.insert_arrays, params)


_FENCED_LISTS = ("steps", "calls", "events", "new_runs", "ops")


@dataclass(frozen=True)
class _Fenced:
    """An event a segment recorded under its fencing token: written only while the token is current."""

    event: Any
    fence: Any

    @property
    def run_id(self) -> str:
        return self.event.run_id

    @property
    def type(self) -> str:
        return self.event.type


def _unfenced(batch: Batch, refused: set[tuple[str, int]]) -> Batch:
    """The batch without the rows of attempts whose token is no longer current."""
    if not refused:
        return batch
    dropped: dict[str, set[int]] = {name: set() for name in _FENCED_LISTS}
    ends = dict(batch.ends)
    for fence, spans, ended in batch.fenced:
        if (fence.run_id, fence.attempt) in refused:
            for name, (start, end) in spans.items():
                dropped[name].update(range(start, end))
            if ended:
                ends.pop(fence.run_id, None)
    kept = {name: [row for i, row in enumerate(getattr(batch, name)) if i not in dropped[name]]
            for name in _FENCED_LISTS}
    return replace(batch, ends=ends, fenced=[], **kept)


class PgTracker(Tracker):
    """The local tracker's rows; run facts and event ids come from PostgreSQL (shared by all writers)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._runs: dict[str, _Run] = {}
        self._ids: list[int] = []

    def prepare(self, items: list[Any]) -> None:
        # A (re)started run is read again: its previous segment may have run on another worker.
        wanted = {i.run_id for i in items if not isinstance(i, SetTraceId)
                  and (i.run_id not in self._runs or i.type == "run_started")}
        with self._pool.connection() as con, con.pipeline():  # both queries in one round trip
            runs = con.execute("SELECT run_id, owner, workflow, segments - 1 FROM runs WHERE run_id = ANY(%s)",
                               [sorted(wanted)]) if wanted else None
            ids = con.execute("SELECT nextval('graphwright_event_id') FROM generate_series(1, %s)", [len(items)])
            for run_id, owner, workflow, segment in runs.fetchall() if runs is not None else ():
                self._runs[run_id] = _Run(owner, workflow, segment, in_db=True)
            self._ids = [r[0] for r in ids.fetchall()]
        self._ids.reverse()

    def new_id(self) -> int:
        return self._ids.pop()

    def add(self, item: Any, batch: Batch) -> None:
        if not isinstance(item, _Fenced):
            return super().add(item, batch)
        before = {name: len(getattr(batch, name)) for name in _FENCED_LISTS}
        end = batch.ends.get(item.run_id)
        super().add(item.event, batch)
        spans = {name: (start, len(getattr(batch, name))) for name, start in before.items()}
        batch.fenced.append((item.fence, spans, batch.ends.get(item.run_id) is not end))
        return None


class PgWriter(Writer):
    retried = (psycopg.Error, OSError)

    def __init__(self, pool: Any, types: dict[str, dict[str, str]], **kwargs: Any) -> None:
        self._pool = pool
        self._inserts = {table: _Insert(table, types[table]) for table in ("steps", "llm_calls", "events")}
        super().__init__(None, tracker=PgTracker(pool), **kwargs)

    def put(self, item: Any) -> int:
        fence = fence_of(item.run_id) if not isinstance(item, SetTraceId) else None
        return super().put(item if fence is None else _Fenced(item, fence))

    def _write(self, batch: Batch) -> None:
        small = sum(len(rows) for rows in (batch.steps, batch.calls, batch.events)) <= SMALL_BATCH
        with self._pool.connection() as con, con.pipeline() if small else nullcontext(), con.transaction():
            batch = _unfenced(batch, fence_stale(con, [fence for fence, _, _ in batch.fenced]))
            tables = (("steps", batch.steps), ("llm_calls", batch.calls), ("events", batch.events))
            if batch.new_runs:
                con.execute(to_pg(INSERT_RUNS_SQL), columns(batch.new_runs))
            for table, rows in tables:
                if rows and small:
                    self._inserts[table].queue(con, rows)
                elif rows:
                    self._inserts[table].run(con, rows)
            for op in batch.ops:  # after the inserts: some ops look at this batch's step rows
                con.execute(to_pg(op.sql), op.params)
            if batch.ends:
                con.execute(to_pg(END_RUNS_SQL), columns(batch.ends.values()))
                con.execute(to_pg(TOTALS_SQL), [sorted(r for r, end in batch.ends.items() if end[1] != "finished")])


class PgHistoryStore(HistoryStore):
    """`HistoryStore`'s API over PostgreSQL: `record`/`sink`/`flush`/`stats` are inherited unchanged."""

    def __init__(self, dsn: str, *, queue_size: int = 200_000, batch_size: int = 50_000, **_: Any) -> None:
        from orchestrator.pg_pool import connect_pool

        migrate_pg(dsn)
        self.path = WHERE  # type: ignore[assignment]  # for messages; never the DSN (it may hold a password)
        self.interrupted_on_open: list[str] = []
        self.tracer = None
        self._closed = False
        self._pool = connect_pool(dsn)
        self._mirror = PgMirror(self._pool)
        # the first catch-up copies everything (seconds for 1M calls): start it now, not on the first page view
        threading.Thread(target=self._first_sync, name="history-mirror", daemon=True).start()
        types = {t: dict(self._mirror.column_types(t)) for t in KEYS}
        self._writer = PgWriter(self._pool, types, maxsize=queue_size, batch_size=batch_size, path=WHERE)
        self._now_lock = threading.Lock()
        self._dsn, self._slots = dsn, None
        atexit.register(self.close)

    def _first_sync(self) -> None:
        try:
            self._mirror.sync()
        except Exception as exc:  # noqa: BLE001 - the next read catches up (and reports) instead
            log.warning("history: the first catch-up of the analytics copy failed: %s", exc)

    def execute_now(self, sql: str, params: list[Any]) -> None:
        with self._pool.connection() as con:
            con.execute(to_pg(sql), params)

    def read_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the analytics copy, caught up with every row committed before this call."""
        return self._mirror.cursor()

    def run_slots(self) -> PgRunSlots:
        """Concurrent-run slots shared by every replica on this database (leases, `history.pg_slots`)."""
        if self._slots is None:
            self._slots = PgRunSlots(self._dsn)
        return self._slots

    def run_ledger(self) -> PgRunLedger:
        """The quota ledger's admissions, one step for every replica on this database (`history.pg_slots`)."""
        return PgRunLedger(self._pool)

    def mark_interrupted_runs(self) -> list[str]:
        return []  # other workers own the runs still 'running': see the module doc

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            self.flush(timeout)
        except Exception as exc:  # noqa: BLE001 - closing: say what is lost, then release everything
            log.error("history closing with unwritten events: %s", exc)
        self._writer.close(timeout)
        self._mirror.close()
        if self._slots is not None:
            self._slots.close()
        self._pool.close()
