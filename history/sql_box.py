"""The power-user SQL box: one read-only SELECT over the user's own rows, bounded in every way.

Why a copy in a separate database: DuckDB has no per-connection permissions, so any cursor on the
history file could read every user's rows (`main.runs` is one name away from a filtered view).
Instead only the user's rows are exported (Parquet, in a private temp folder) and a child process
(`history.sql_child`) loads them into a fresh in-memory database that cannot reach any file:
external access is off (no `read_csv`, no `ATTACH`, no `COPY TO`), Python variables cannot be
scanned by name, and the configuration is locked, so the query cannot turn it back on.

Why a child process: the app is shared by every visitor. Parsing a huge query holds the GIL (a
1.2 MB `SELECT ((((…1))))` froze the app for 9 s), and DuckDB checks for interrupts only between
chunks (one slow scalar call ran 15 s past its limit). So: the text is capped before anything
parses it, the query runs where it can be killed at the deadline, each visitor runs one query at a
time, and the child stops fetching at `row_limit` rows or `max_bytes`, whichever comes first.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import pandas as pd

from history.errors import SqlBoxBusy, SqlBoxError, SqlBoxTimeout
from history.queries import Cursor
from history.slots import OwnerSlots, SlotsFull

MAX_SQL_CHARS = 4_000
ROW_LIMIT = 1_000
MAX_RESULT_BYTES = 2_000_000
TIMEOUT_S = 5.0
START_GRACE_S = 10.0  # the child's start-up (Python + DuckDB imports, loading the rows): not query time
KILL_MARGIN_S = 0.25  # past the deadline, for the child's own interrupt to answer before the kill
_ROOT = Path(__file__).resolve().parents[1]

TABLES = MappingProxyType({
    "runs": "SELECT * FROM runs WHERE ? IS NULL OR owner = ?",
    "steps": "SELECT * FROM steps WHERE ? IS NULL OR owner = ?",
    "llm_calls": "SELECT * FROM llm_calls WHERE ? IS NULL OR owner = ?",
    "events": "SELECT * FROM events WHERE ? IS NULL OR run_id IN (SELECT run_id FROM runs WHERE owner = ?)",
    "config_versions": "SELECT * FROM config_versions WHERE ? IS NULL OR owner = ?",
})
# Not a visitor's rows: LiteLLM's price map (`history.prices`), one row per per-token-priced model.
# With it the box also defines `call_cost(model, tokens_in, tokens_out)` (see `history.sql_child`).
PRICES = "model_prices"


@dataclass
class SqlResult:
    frame: pd.DataFrame
    truncated: bool  # more rows matched than were shown
    elapsed_s: float
    note: str = ""  # "3 rows", or "first N rows shown: the result is limited to …"


def check_statement(sql: str) -> str:
    """The single SELECT statement in `sql`, or `SqlBoxError` saying why not."""
    if len(sql) > MAX_SQL_CHARS:  # before any parsing: the parser holds the GIL
        raise SqlBoxError(f"the query has {len(sql):,} characters; the limit is {MAX_SQL_CHARS:,}: "
                          "shorten it (filter with WHERE rather than long literal lists)")
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
        return (*TABLES, PRICES)
    finally:
        probe.close()
    wanted = tuple(name for name in TABLES if name in named)
    return (*wanted, PRICES) if PRICES in named or "call_cost" in statement.lower() else wanted


def _export(cur: Cursor, owner: str | None, tables: tuple[str, ...], folder: Path) -> None:
    for name in tables:
        path = str(folder / f"{name}.parquet").replace("'", "''")
        if name == PRICES:
            _export_prices(path)
        else:
            cur.execute(f"COPY ({TABLES[name]}) TO '{path}' (FORMAT parquet)", [owner, owner])


def _export_prices(path: str) -> None:
    from history.prices import PRICE_COLUMNS, price_rows

    frame = pd.DataFrame(price_rows(), columns=list(PRICE_COLUMNS))
    frame["tier_above_tokens"] = frame["tier_above_tokens"].astype("Int64")
    con = duckdb.connect(":memory:")
    try:
        con.register("prices", frame)
        con.execute(f"COPY prices TO '{path}' (FORMAT parquet)")
    finally:
        con.close()


def _child(folder: Path, timeout_s: float) -> dict[str, Any]:
    """Run the worker on `folder`; kill it at the deadline. The child gets no secrets: a bare env.

    The clock starts when the child says its rows are loaded (its start-up is not the query's time).
    """
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    child = subprocess.Popen([sys.executable, "-m", "history.sql_child", str(folder)], cwd=_ROOT, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with selectors.DefaultSelector() as waiting:  # poll/epoll: select() refuses descriptors >= 1024
            waiting.register(child.stdout, selectors.EVENT_READ)
            ready = waiting.select(START_GRACE_S)
        if ready and child.stdout is not None:
            child.stdout.readline()  # "ready" (or EOF when it failed to start)
        child.wait(timeout_s + KILL_MARGIN_S)
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    try:
        return json.loads((folder / "result.json").read_text())
    except (OSError, ValueError):  # killed by the kernel (CPU or memory): no result written
        return {"error": "killed"}


def _note(rows: int, cut: str, row_limit: int, max_bytes: int) -> str:
    if cut == "rows":
        return f"first {rows:,} rows shown: the result is limited to {row_limit:,} rows"
    if cut == "bytes":
        return f"first {rows:,} rows shown: the result is limited to {max_bytes / 1e6:g} MB"
    return f"{rows:,} row{'s' * (rows != 1)}"


def run_sql(
    cur: Cursor, sql: str, owner: str | None, *, row_limit: int = ROW_LIMIT, timeout_s: float = TIMEOUT_S,
    max_bytes: int = MAX_RESULT_BYTES, gate: OwnerSlots | None = None,
) -> SqlResult:
    """Run one SELECT over `runs`, `steps`, `llm_calls` and `events` restricted to `owner`'s rows
    (plus `model_prices` and `call_cost(...)`, LiteLLM's prices, when the query names them).

    `gate` (the app's, one for the process) lets each owner run one query at a time.
    """
    statement = check_statement(sql)
    started = time.perf_counter()
    gate = gate or OwnerSlots()
    try:
        gate.take(owner or "", 1)
    except SlotsFull:
        raise SqlBoxBusy("your previous query is still running: wait for it to finish") from None
    folder = Path(tempfile.mkdtemp(prefix="graphwright-sql-"))  # 0700, removed below
    try:
        _export(cur, owner, _tables_for(statement), folder)
        request = {"statement": statement, "tables": list(_tables_for(statement)), "row_limit": row_limit,
                   "max_bytes": max_bytes, "timeout_s": timeout_s}
        (folder / "request.json").write_text(json.dumps(request))
        outcome = _child(folder, timeout_s)
    finally:
        gate.release(owner or "")
        shutil.rmtree(folder, ignore_errors=True)
    error = outcome.get("error")
    if error in ("timeout", "killed"):
        raise SqlBoxTimeout(f"the query ran longer than {timeout_s:g}s (or used too much memory) and was "
                            "stopped: add filters or a LIMIT")
    if error:
        raise SqlBoxError(f"the query failed: {outcome.get('message', error)}")
    frame = pd.DataFrame(outcome["rows"], columns=outcome["columns"])
    cut = outcome["cut"]
    return SqlResult(frame, bool(cut), time.perf_counter() - started, _note(len(frame), cut, row_limit, max_bytes))
