"""Run state in PostgreSQL (cluster mode): run records, the tool journal and LangGraph's checkpoints.

The same Protocols as the embedded files (`orchestrator.state_store`), so the engine is unchanged;
any worker can resume any run. Every statement commits on its own (autocommit): a record written is
durable before the call returns. Connections come from a pool that checks each one before use, so
after a PostgreSQL restart the next call reconnects instead of failing on a dead socket.
Imported only when `GRAPHWRIGHT_POSTGRES_DSN` is set (psycopg is an optional extra).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from orchestrator.checkpoints import StoredRun
from orchestrator.state_store import RunState
from orchestrator.tool_journal import INTERRUPTED, ToolJournal
from schemas.models import Workflow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphwright_runs (
    run_id TEXT PRIMARY KEY,
    workflow_json TEXT NOT NULL,
    inputs_json TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    model_override TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    pending_json TEXT,
    seq_reserved BIGINT NOT NULL DEFAULT 0,
    elapsed_s DOUBLE PRECISION NOT NULL DEFAULT 0,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS graphwright_tool_calls (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT false,
    ok BOOLEAN NOT NULL DEFAULT false,
    result TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, key)
);
"""
_STATE_LOCK = 7_300_001  # advisory lock ids: schema set-up by many processes at once is serialised


def connect_pool(dsn: str, *, max_size: int = 8) -> Any:
    """A thread-safe pool of autocommit connections, each checked (and replaced if dead) before use."""
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(dsn, min_size=1, max_size=max_size, kwargs={"autocommit": True},
                          check=ConnectionPool.check_connection, open=False, name="graphwright")
    pool.open(wait=True, timeout=30)
    return pool


def ensure_schema(dsn: str, ddl: str, lock_id: int) -> None:
    """Run idempotent DDL under an advisory lock (two workers starting at once must not race)."""
    import psycopg

    with psycopg.connect(dsn) as con, con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
        con.execute(ddl)


class PgRunStore:
    """`RunRecords` on the `graphwright_runs` table."""

    path = "PostgreSQL"

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def _exec(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._pool.connection() as con:
            cur = con.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def create(self, run_id: str, workflow: Workflow, inputs: dict[str, Any], owner: str,
               model_override: str | None) -> None:
        now = time.time()
        self._exec(
            "INSERT INTO graphwright_runs (run_id, workflow_json, inputs_json, owner, model_override, created, updated)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [run_id, workflow.model_dump_json(by_alias=True, exclude_none=True), json.dumps(inputs), owner,
             model_override, now, now])

    def get(self, run_id: str) -> StoredRun | None:
        rows = self._exec("SELECT run_id, workflow_json, inputs_json, owner, model_override, status, pending_json,"
                          " seq_reserved, elapsed_s FROM graphwright_runs WHERE run_id = %s", [run_id])
        if not rows:
            return None
        r = rows[0]
        return StoredRun(r[0], Workflow.model_validate_json(r[1]), json.loads(r[2]), r[3], r[4], r[5],
                         json.loads(r[6]) if r[6] else None, int(r[7]), float(r[8]))

    def set_status(self, run_id: str, status: str, *, pending: dict[str, Any] | None = None,
                   add_elapsed: float = 0.0) -> None:
        self._exec("UPDATE graphwright_runs SET status = %s, pending_json = %s, elapsed_s = elapsed_s + %s,"
                   " updated = %s WHERE run_id = %s",
                   [status, json.dumps(pending) if pending else None, add_elapsed, time.time(), run_id])

    def crashed(self) -> list[tuple[str, str, str, float]]:
        """Runs marked running. In cluster mode that is not proof of a crash (another worker may be
        driving them): only the orchestration layer, which knows the live workers, may act on it."""
        rows = self._exec("SELECT run_id, workflow_json, owner, created FROM graphwright_runs"
                          " WHERE status = 'running'", [])
        return [(r[0], str(json.loads(r[1]).get("name", "")), r[2], r[3]) for r in rows]

    def reserve_seq(self, run_id: str, up_to: int) -> None:
        self._exec("UPDATE graphwright_runs SET seq_reserved = GREATEST(seq_reserved, %s) WHERE run_id = %s",
                   [up_to, run_id])

    def close(self) -> None:
        self._pool.close()


class PgToolJournal(ToolJournal):
    """`ToolCalls` on the `graphwright_tool_calls` table: the same keys and replay rules as locally."""

    def __init__(self, pool: Any) -> None:  # not super().__init__: that opens a SQLite file
        self._lock = threading.Lock()
        self._pool = pool
        self._seen: set[tuple[str, str]] = set()

    def _exec(self, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
        with self._pool.connection() as con:
            cur = con.execute(sql, params)
            return cur.fetchone() if cur.description else None

    def replay(self, run_id: str, key: str) -> tuple[bool, str] | None:
        with self._lock:
            if (run_id, key) in self._seen:
                return None
            self._seen.add((run_id, key))
        row = self._exec("SELECT done, ok, result FROM graphwright_tool_calls WHERE run_id = %s AND key = %s",
                         [run_id, key])
        if row is None:
            return None
        return (bool(row[1]), row[2]) if row[0] else (False, INTERRUPTED)

    def begin(self, run_id: str, key: str) -> None:
        with self._lock:
            self._seen.add((run_id, key))
        self._exec("INSERT INTO graphwright_tool_calls (run_id, key) VALUES (%s, %s) ON CONFLICT (run_id, key)"
                   " DO UPDATE SET done = false, ok = false, result = ''", [run_id, key])

    def end(self, run_id: str, key: str, ok: bool, text: str) -> None:
        self._exec("UPDATE graphwright_tool_calls SET done = true, ok = %s, result = %s WHERE run_id = %s AND key = %s",
                   [ok, text, run_id, key])

    def forget_run(self, run_id: str) -> None:
        self._exec("DELETE FROM graphwright_tool_calls WHERE run_id = %s", [run_id])
        with self._lock:
            self._seen = {seen for seen in self._seen if seen[0] != run_id}

    def close(self) -> None:
        """The pool is shared with the run records, which close it."""


@asynccontextmanager
async def open_pg_saver(dsn: str) -> AsyncIterator[Any]:
    """LangGraph's `AsyncPostgresSaver` over a small pool of this event loop (checked connections)."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(dsn, min_size=1, max_size=4, open=False, check=AsyncConnectionPool.check_connection,
                               kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})
    await pool.open(wait=True, timeout=30)
    try:
        yield AsyncPostgresSaver(pool)  # type: ignore[arg-type]
    finally:
        await pool.close()


def _setup_checkpoints(dsn: str) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("SELECT pg_advisory_lock(%s)", [_STATE_LOCK + 1])
        try:
            PostgresSaver(con).setup()  # LangGraph's own migrations (idempotent)
        finally:
            con.execute("SELECT pg_advisory_unlock(%s)", [_STATE_LOCK + 1])


def open_pg_run_state(dsn: str) -> RunState:
    ensure_schema(dsn, _SCHEMA, _STATE_LOCK)
    _setup_checkpoints(dsn)
    pool = connect_pool(dsn)
    return RunState(PgRunStore(pool), PgToolJournal(pool), lambda: open_pg_saver(dsn), "PostgreSQL")
