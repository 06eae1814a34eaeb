"""Run state in PostgreSQL (cluster mode): run records, the tool journal and LangGraph's checkpoints.

The same Protocols as the embedded files (`orchestrator.state_store`), so the engine is unchanged;
any worker can resume any run. (`crashed()` lists runs marked running; in cluster mode that is no
proof of a crash, since another worker may be driving them: only the orchestration layer may act on it.) Every statement commits on its own (autocommit): a record written is
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

from orchestrator.checkpoints import REPLAYS_SCHEMA, RUNS_SCHEMA, RunStore
from orchestrator.fencing import FENCES_SCHEMA, fence_of
from orchestrator.fencing import stale as fence_stale
from orchestrator.state_store import RunState
from orchestrator.tool_journal import JOURNAL_SCHEMA, ToolJournal

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


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class PgRunStore(RunStore):
    """`RunRecords` on the `graphwright_runs` table: the local statements, on a pooled connection."""

    _RESERVE_SQL = "UPDATE graphwright_runs SET seq_reserved = GREATEST(seq_reserved, ?) WHERE run_id = ?"

    def __init__(self, pool: Any) -> None:  # not super().__init__: that opens a SQLite file
        self._pool = pool
        self.path = "PostgreSQL"  # type: ignore[assignment]  # for messages: never the DSN

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._pool.connection() as con:
            cur = con.execute(_pg(sql), params)
            return cur.fetchall() if cur.description else []

    def take_fence(self, run_id: str) -> int:
        """A new attempt on `run_id` starts: its fencing token, which makes every earlier attempt's stale."""
        return int(self._rows("INSERT INTO graphwright_run_fences (run_id, attempt) VALUES (?, 1) ON CONFLICT"
                              " (run_id) DO UPDATE SET attempt = graphwright_run_fences.attempt + 1 RETURNING attempt",
                              (run_id,))[0][0])

    def set_status(self, run_id: str, status: str, *, pending: dict[str, Any] | None = None,
                   add_elapsed: float = 0.0) -> None:
        """As locally; under a fence, only while it is current (checked in the same statement)."""
        fence = fence_of(run_id)
        if fence is None:
            return super().set_status(run_id, status, pending=pending, add_elapsed=add_elapsed)
        with self._pool.connection() as con, con.transaction():
            if fence_stale(con, [fence]):
                return None
            con.execute("UPDATE graphwright_runs SET status = %s, pending_json = %s, elapsed_s = elapsed_s + %s,"
                        " updated = %s WHERE run_id = %s",
                        (status, json.dumps(pending) if pending else None, add_elapsed, time.time(), run_id))
        return None

    def close(self) -> None:
        self._pool.close()


class PgToolJournal(ToolJournal):
    """`ToolCalls` on the `graphwright_tool_calls` table: the same keys, statements and replay rules."""

    _BEGIN_SQL = ("INSERT INTO graphwright_tool_calls (run_id, key) VALUES (?, ?) ON CONFLICT (run_id, key)"
                  " DO UPDATE SET done = 0, ok = 0, result = ''")

    def __init__(self, pool: Any) -> None:  # not super().__init__: that opens a SQLite file
        self._lock = threading.Lock()
        self._pool = pool
        self._seen: set[tuple[str, str]] = set()

    def _row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._pool.connection() as con:
            cur = con.execute(_pg(sql), params)
            return cur.fetchone() if cur.description else None

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
        yield _fenced_saver(AsyncPostgresSaver)(pool)  # type: ignore[arg-type]
    finally:
        await pool.close()


class FencedOut(Exception):
    """A stale attempt tried to write a checkpoint of a run another attempt now drives."""


def _fenced_saver(base: Any) -> Any:
    """`base` refusing the checkpoint writes of a segment whose fencing token is no longer current."""

    class FencedSaver(base):  # type: ignore[misc, valid-type]
        async def aput(self, config: Any, *args: Any, **kwargs: Any) -> Any:
            await self._check(config)
            return await super().aput(config, *args, **kwargs)

        async def aput_writes(self, config: Any, *args: Any, **kwargs: Any) -> Any:
            await self._check(config)
            return await super().aput_writes(config, *args, **kwargs)

        async def _check(self, config: Any) -> None:
            fence = fence_of(config["configurable"]["thread_id"])
            if fence is None:
                return
            async with self.conn.connection() as con:
                cur = await con.execute("SELECT attempt FROM graphwright_run_fences WHERE run_id = %s", [fence.run_id])
                row = await cur.fetchone()
            if fence.lost or (row is not None and row["attempt"] != fence.attempt):
                fence.lose()
                raise FencedOut(f"run `{fence.run_id}` is driven by a newer attempt")

    return FencedSaver


def _setup_checkpoints(dsn: str) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("SELECT pg_advisory_lock(%s)", [_STATE_LOCK + 1])
        try:
            PostgresSaver(con).setup()  # LangGraph's own migrations (idempotent)
        finally:
            con.execute("SELECT pg_advisory_unlock(%s)", [_STATE_LOCK + 1])


def unreachable(exc: BaseException) -> bool:
    """A lost or refused connection (PostgreSQL restarting, a network cut), anywhere in the exception's chain."""
    import psycopg

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, psycopg.OperationalError):  # includes the pool's PoolTimeout
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def open_pg_run_state(dsn: str) -> RunState:
    ensure_schema(dsn, ";\n".join((RUNS_SCHEMA, REPLAYS_SCHEMA, JOURNAL_SCHEMA, FENCES_SCHEMA)), _STATE_LOCK)
    _setup_checkpoints(dsn)
    pool = connect_pool(dsn)
    return RunState(PgRunStore(pool), PgToolJournal(pool), lambda: open_pg_saver(dsn), "PostgreSQL", unreachable)
