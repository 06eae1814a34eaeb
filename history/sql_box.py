"""The power-user SQL box: one read-only SELECT over the user's own rows, with a row limit and a timeout.

Why a copy in a separate database: DuckDB has no per-connection permissions, so any cursor on the
history file could read every user's rows (`main.runs` is one name away from a filtered view).
Instead the user's rows are copied into a fresh in-memory database that cannot reach the file:
external access is off (no `read_csv`, no `ATTACH`, no `COPY TO`), Python variables cannot be
scanned by name, and the configuration is locked, so the query cannot turn it back on. On top of that only a single SELECT statement is
accepted, `interrupt()` from a timer enforces the time limit, and at most `row_limit` rows return.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import MappingProxyType

import duckdb
import pandas as pd

from history.errors import SqlBoxError, SqlBoxTimeout
from history.queries import Cursor

TABLES = MappingProxyType({
    "runs": "SELECT * FROM runs WHERE ? IS NULL OR owner = ?",
    "steps": "SELECT * FROM steps WHERE ? IS NULL OR owner = ?",
    "llm_calls": "SELECT * FROM llm_calls WHERE ? IS NULL OR owner = ?",
    "events": "SELECT * FROM events WHERE ? IS NULL OR run_id IN (SELECT run_id FROM runs WHERE owner = ?)",
})


@dataclass
class SqlResult:
    frame: pd.DataFrame
    truncated: bool  # more rows matched than `row_limit`
    elapsed_s: float


def check_statement(sql: str) -> str:
    """The single SELECT statement in `sql`, or `SqlBoxError` saying why not."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlBoxError(f"could not parse the query: {exc}") from None
    if len(statements) != 1:
        raise SqlBoxError(f"write exactly one SELECT statement (found {len(statements)})")
    kind = statements[0].type.name
    if kind != "SELECT":
        raise SqlBoxError(f"only SELECT queries are allowed here (this is a {kind} statement)")
    return statements[0].query


def _tables_for(statement: str) -> tuple[str, ...]:
    """Only the tables the query names are copied (a user's calls can be millions of rows)."""
    # Naming tables binds the query: do it where table functions cannot touch files either.
    probe = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        named = duckdb.get_table_names(statement, connection=probe)
    except duckdb.Error:  # it cannot always bind without a catalog: copy everything
        return tuple(TABLES)
    finally:
        probe.close()
    return tuple(name for name in TABLES if name in named)


def _sandbox(cur: Cursor, owner: str | None, tables: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    box = duckdb.connect(":memory:", config={"threads": 1, "memory_limit": "512MB"})
    try:
        for name in tables:
            select = TABLES[name]
            frame = cur.execute(select, [owner, owner]).df()  # noqa: F841 - read by the statement below
            box.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        box.execute("SET python_enable_replacements = false")  # no reading the caller's DataFrames by name
        box.execute("SET enable_external_access = false")
        box.execute("SET lock_configuration = true")
    except BaseException:
        box.close()
        raise
    return box


def _interrupt(box: duckdb.DuckDBPyConnection) -> None:
    try:
        box.interrupt()
    except duckdb.Error:  # already closed: the query finished just in time
        pass


def run_sql(
    cur: Cursor, sql: str, owner: str | None, *, row_limit: int = 1000, timeout_s: float = 5.0
) -> SqlResult:
    """Run one SELECT over `runs`, `steps`, `llm_calls` and `events` restricted to `owner`'s rows."""
    statement = check_statement(sql)
    started = time.perf_counter()
    box = _sandbox(cur, owner, _tables_for(statement))
    timer = threading.Timer(timeout_s, _interrupt, [box])
    timer.start()
    try:
        result = box.execute(statement)
        rows = result.fetchmany(row_limit + 1)
        columns = [d[0] for d in result.description or []]
    except duckdb.InterruptException:
        raise SqlBoxTimeout(
            f"the query ran longer than {timeout_s:g}s and was stopped: add filters or a LIMIT"
        ) from None
    except duckdb.Error as exc:
        raise SqlBoxError(f"the query failed: {exc}") from None
    finally:
        timer.cancel()
        box.close()
    frame = pd.DataFrame(rows[:row_limit], columns=columns)
    return SqlResult(frame, len(rows) > row_limit, time.perf_counter() - started)
