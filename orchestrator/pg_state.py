"""Run state in PostgreSQL (cluster mode): run records, the tool journal and LangGraph's checkpoints.

The same Protocols as the embedded files (`orchestrator.state_store`), so the engine is unchanged;
any worker can resume any run. (`crashed()` lists runs marked running; in cluster mode that is no
proof of a crash, since another worker may be driving them: only the orchestration layer may act on it.) Every statement commits on its own (autocommit): a record written is
durable before the call returns. Connections come from a pool that checks each one before use, so
after a PostgreSQL restart the next call reconnects instead of failing on a dead socket.
Imported only when `GRAPHWRIGHT_POSTGRES_DSN` is set (psycopg is an optional extra).

Round trips are what a run pays for here (each is a wake-up of a Postgres backend, and on a busy
machine a wait for a CPU): the pools (`orchestrator.pg_pool`) check a connection only when it looks
dead, and a worker's checkpointer keeps one pool per event loop across segments instead of
connecting anew for each run.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from orchestrator.checkpoints import REPLAYS_SCHEMA, RUNS_SCHEMA, RunStore
from orchestrator.fencing import FENCES_SCHEMA, Fence, FencedOut, afenced, fence_of, fenced
from orchestrator.pg_pool import acheck_if_suspect, connect_pool
from orchestrator.state_store import RunState
from orchestrator.tool_journal import JOURNAL_SCHEMA, ToolJournal

_STATE_LOCK = 7_300_001  # advisory lock ids: schema set-up by many processes at once is serialised
# what a page load asks (`PgRunStore.running`): a small index, since most runs are not running
_RUNNING_INDEX = "CREATE INDEX IF NOT EXISTS graphwright_runs_running ON graphwright_runs (owner) WHERE status = 'running'"


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

    def __init__(self, pool: Any, savers: PgSavers | None = None) -> None:  # not super().__init__: a SQLite file
        self._pool, self._savers = pool, savers
        self.path = "PostgreSQL"  # type: ignore[assignment]  # for messages: never the DSN

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._pool.connection() as con:
            cur = con.execute(_pg(sql), params)
            return cur.fetchall() if cur.description else []

    def _fenced(self, run_id: str, sql: str, params: tuple[Any, ...]) -> None:
        """A write of `run_id`'s record; under a fence, only while it is current (else nothing, quietly:
        the lost fence stops the stale attempt)."""
        _fenced_write(self._pool, run_id, sql, params, quiet=True)

    def take_fence(self, run_id: str) -> int:
        """A new attempt on `run_id` starts: its fencing token, which makes every earlier attempt's stale."""
        return int(self._rows("INSERT INTO graphwright_run_fences (run_id, attempt) VALUES (?, 1) ON CONFLICT"
                              " (run_id) DO UPDATE SET attempt = graphwright_run_fences.attempt + 1 RETURNING attempt",
                              (run_id,))[0][0])

    def set_status(self, run_id: str, status: str, *, pending: dict[str, Any] | None = None,
                   add_elapsed: float = 0.0) -> None:
        self._fenced(run_id, self._STATUS_SQL,
                     (status, json.dumps(pending) if pending else None, add_elapsed, time.time(), run_id))

    def reserve_seq(self, run_id: str, up_to: int) -> None:
        self._fenced(run_id, self._RESERVE_SQL, (up_to, run_id))

    def running(self, owner: str) -> list[str]:
        """Ids of `owner`'s runs marked running, newest first: on some worker, or left so by a crash (the
        orchestration layer tells which: `cluster.executor.ClusterExecutor.follow_running`)."""
        return [r[0] for r in self._rows("SELECT run_id FROM graphwright_runs WHERE owner = ? AND status = 'running'"
                                         " ORDER BY created DESC LIMIT 20", (owner,))]

    def close(self) -> None:
        if self._savers is not None:
            self._savers.close()
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

    def _write(self, run_id: str, sql: str, params: tuple[Any, ...], *, quiet: bool = False) -> None:
        """Under a fence, only while it is current: a stale attempt's `begin` raises `FencedOut`, so its
        tool does not run; its `end` and `forget_run` are dropped quietly."""
        _fenced_write(self._pool, run_id, sql, params, quiet=quiet)

    def close(self) -> None:
        """The pool is shared with the run records, which close it."""


def _fenced_write(pool: Any, run_id: str, sql: str, params: tuple[Any, ...], *, quiet: bool) -> None:
    fence = fence_of(run_id)
    with pool.connection() as con:
        if fence is None:
            con.execute(_pg(sql), params)
            return
        try:
            with fenced(con, fence):
                con.execute(_pg(sql), params)
        except FencedOut:
            if not quiet:
                raise


class PgSavers:
    """`open_saver()` for every segment an engine drives: LangGraph's `AsyncPostgresSaver` over one
    pool per event loop, opened by the first segment and kept for the next ones (a worker drives
    many runs on one loop). The pool closes when its loop ends (`asyncio.run` cancels its keeper)
    or with `close()`."""

    def __init__(self, dsn: str, max_size: int = 8) -> None:
        self.dsn, self.max_size = dsn, max_size
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, asyncio.Task[None]]] = (
            weakref.WeakKeyDictionary())
        self._opening: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Any]:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        yield _fenced_saver(AsyncPostgresSaver)(await self._pool())  # type: ignore[arg-type]

    async def _pool(self) -> Any:
        loop = asyncio.get_running_loop()
        lock = self._opening.setdefault(loop, asyncio.Lock())
        async with lock:
            held = self._pools.get(loop)
            if held is None or held[1].done():
                pool = await self._open()
                self._pools[loop] = held = (pool, loop.create_task(self._keep(loop, pool)))
        return held[0]

    async def _keep(self, loop: asyncio.AbstractEventLoop, pool: Any) -> None:
        """Hold `pool` open until this task is cancelled: by `close()`, or when its loop ends."""
        try:
            await asyncio.Event().wait()
        finally:
            if self._pools.get(loop, (None,))[0] is pool:
                del self._pools[loop]
            await pool.close()

    async def _open(self) -> Any:
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool = AsyncConnectionPool(self.dsn, min_size=1, max_size=self.max_size, open=False, check=acheck_if_suspect,
                                   kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})
        await pool.open(wait=True, timeout=30)
        return pool

    def close(self) -> None:
        """Close the pools of loops still running (a pool whose loop has ended was closed with it)."""
        for loop, (_pool, keeper) in list(self._pools.items()):
            if not loop.is_closed() and not keeper.done():
                loop.call_soon_threadsafe(keeper.cancel)


_WRITING: ContextVar[Fence | None] = ContextVar("graphwright_checkpoint_fence", default=None)


def _fenced_saver(base: Any) -> Any:
    """`base` whose checkpoint writes, under a fence, commit only while it is current: LangGraph's own
    statements go in the pipeline `afenced` opens (the check and the write in one transaction), so a stale
    attempt's write either lands before the next attempt takes the run or not at all (`FencedOut`)."""
    from langgraph.checkpoint.postgres._ainternal import get_connection
    from psycopg.rows import dict_row

    class FencedSaver(base):  # type: ignore[misc, valid-type]
        async def aput(self, config: Any, *args: Any, **kwargs: Any) -> Any:
            token = _WRITING.set(fence_of(config["configurable"]["thread_id"]))
            try:
                return await super().aput(config, *args, **kwargs)
            finally:
                _WRITING.reset(token)

        async def aput_writes(self, config: Any, *args: Any, **kwargs: Any) -> None:
            token = _WRITING.set(fence_of(config["configurable"]["thread_id"]))
            try:
                await super().aput_writes(config, *args, **kwargs)
            finally:
                _WRITING.reset(token)

        @asynccontextmanager
        async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[Any]:
            fence = _WRITING.get()
            if fence is None or not pipeline:  # reads, and every write outside a fenced segment
                async with super()._cursor(pipeline=pipeline) as cur:
                    yield cur
                return
            async with (self.lock, get_connection(self.conn) as con, afenced(con, fence),
                        con.cursor(binary=True, row_factory=dict_row) as cur):
                yield cur

    return FencedSaver


def _setup_checkpoints(dsn: str) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    with psycopg.connect(dsn, autocommit=True) as con:
        # Polled, not waited for: LangGraph's setup runs CREATE INDEX CONCURRENTLY, which waits for every
        # open statement, a blocked `pg_advisory_lock` of another process starting at once included (a deadlock)
        while not con.execute("SELECT pg_try_advisory_lock(%s)", [_STATE_LOCK + 1]).fetchone()[0]:  # type: ignore[index]
            time.sleep(0.05)
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
    ensure_schema(dsn, ";\n".join((RUNS_SCHEMA, _RUNNING_INDEX, REPLAYS_SCHEMA, JOURNAL_SCHEMA, FENCES_SCHEMA)),
                  _STATE_LOCK)
    _setup_checkpoints(dsn)
    pool = connect_pool(dsn)
    savers = PgSavers(dsn)
    return RunState(PgRunStore(pool, savers), PgToolJournal(pool), savers, "PostgreSQL", unreachable)
