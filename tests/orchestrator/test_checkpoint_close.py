"""Closing the checkpointer while one of its writes is in flight (what cancelling a run does)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from orchestrator.checkpoints import open_saver


def test_a_cancelled_segment_leaves_no_write_lock_behind(tmp_path: Path) -> None:
    """A write between its INSERT and COMMIT when the run is cancelled ends before the file closes.

    Before, the connection closed under it: the COMMIT failed, the cursor kept its statement, and
    sqlite kept the closed connection (and its write transaction) alive, so a resume found the
    file locked.
    """
    path = tmp_path / "checkpoints.sqlite"
    inserted = asyncio.Event()
    writers: list[asyncio.Task] = []

    async def write(saver) -> None:  # the shape of AsyncSqliteSaver.aput_writes
        async with saver.lock, saver.conn.cursor() as cur:
            await cur.executemany("INSERT INTO t VALUES (?)", [(1,)])
            inserted.set()
            await asyncio.sleep(0.05)  # the segment is cancelled here
            await saver.conn.commit()

    async def segment() -> None:
        async with open_saver(path) as saver:
            await saver.conn.execute("CREATE TABLE t (x INTEGER)")
            await saver.conn.commit()
            writers.append(asyncio.create_task(write(saver)))
            await asyncio.sleep(3600)

    async def main() -> None:
        task = asyncio.create_task(segment())
        await inserted.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.gather(*writers, return_exceptions=True)  # the writer (and its cursor) stay alive
        other = sqlite3.connect(path, timeout=0)  # what a resume does: write at once
        other.execute("INSERT INTO t VALUES (2)")
        other.commit()
        assert sorted(r[0] for r in other.execute("SELECT x FROM t")) == [1, 2]  # the write was kept
        other.close()

    asyncio.run(main())
