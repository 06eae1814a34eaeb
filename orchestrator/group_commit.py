"""LangGraph's async SQLite checkpointer, with the pending writes of concurrent tasks committed together.

LangGraph saves each finished task's writes at once (so a crash re-runs only the tasks in flight),
one `aput_writes` each: a cursor, an INSERT, a COMMIT and a close, four trips to aiosqlite's thread
and back. A parallel step of 32 branches made 70 of them per run, each waiting for the one before
behind the saver's lock, all competing with the branches' streams for the interpreter.
`GroupCommitSaver.aput_writes` queues its rows; one flusher writes everything queued in one
transaction, and whatever arrives while it commits goes in the next. Each call still returns only
once its rows are committed, so what survives a crash is unchanged: a task whose writes were not
committed runs again on resume, exactly as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import WRITES_IDX_MAP
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

_COLUMNS = "(thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value)"
_REPLACE = f"INSERT OR REPLACE INTO writes {_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_IGNORE = f"INSERT OR IGNORE INTO writes {_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


class GroupCommitSaver(AsyncSqliteSaver):
    """`AsyncSqliteSaver` whose concurrent `aput_writes` share transactions (same rows, same SQL)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queued: list[tuple[str, list[tuple[Any, ...]], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        # The statement and rows of `AsyncSqliteSaver.aput_writes`: special channels replace, others keep the first.
        query = _REPLACE if all(w[0] in WRITES_IDX_MAP for w in writes) else _IGNORE
        await self.setup()
        conf = config["configurable"]
        rows = [(str(conf["thread_id"]), str(conf["checkpoint_ns"]), str(conf["checkpoint_id"]), task_id, task_path,
                 WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
                for idx, (channel, value) in enumerate(writes)]
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((query, rows, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        await asyncio.shield(done)  # a cancelled caller's rows are still committed with the others

    async def drain(self) -> None:
        """Wait until every queued write is committed (or has failed): before the connection closes."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                async with self.lock, self.conn.cursor() as cur:
                    for query, rows in _runs(batch):  # in arrival order: a task saved twice keeps its last
                        await cur.executemany(query, rows)
                    await self.conn.commit()
            except BaseException as exc:  # every caller of this batch learns it failed, as each would have
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                if not isinstance(exc, Exception):
                    for _, _, done in self._queued:
                        if not done.done():
                            done.set_exception(asyncio.CancelledError())
                    self._queued = []
                    raise
                continue
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)


def _runs(batch: list[tuple[str, list[tuple[Any, ...]], Any]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The batch's rows as consecutive runs of the same statement."""
    runs: list[tuple[str, list[tuple[Any, ...]]]] = []
    for query, rows, _ in batch:
        if runs and runs[-1][0] == query:
            runs[-1][1].extend(rows)
        else:
            runs.append((query, list(rows)))
    return runs
