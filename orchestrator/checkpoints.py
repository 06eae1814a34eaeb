"""Where runs survive their process: LangGraph checkpoints plus what is needed to resume them.

Two SQLite files in the data dir: `checkpoints.sqlite`, LangGraph's `AsyncSqliteSaver` tables
(thread id = run id), and `runs.sqlite`, a small `graphwright_runs` table holding each run's
workflow (as JSON), inputs, owner, status, the approval it waits for, and a reserved block of event
sequence numbers; `resume(run_id)` therefore needs nothing but the id. They are separate files so a
status write never waits behind a checkpoint transaction that a cancellation cut short.
Sequence numbers are reserved in blocks of `SEQ_BLOCK`, so a run resumed after kill -9 continues
strictly above any `seq` it ever emitted, at one write per block.

What a crash costs: the step in flight when the process died runs again on resume (its model calls
are repeated and billed again). With `async` durability (the default) a step that finished just
before the kill can run again too, when its result had not reached the disk yet. The state's
`accounted` ledger says exactly which recorded work the checkpoint holds, so history flags the rest
superseded and counts every step once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.models import Workflow

SEQ_BLOCK = 1000
FILE_NAME = "checkpoints.sqlite"
RUNS_FILE_NAME = "runs.sqlite"
BUSY_TIMEOUT_S = 60.0
log = logging.getLogger(__name__)

# Plain SQL types, so the same table is created in PostgreSQL (`orchestrator.pg_state`).
RUNS_SCHEMA = """
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
)
"""


# A replay's plan (`orchestrator.replay`), kept so that a resumed replay serves what it served.
REPLAYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphwright_replays (
    run_id TEXT PRIMARY KEY,
    plan_json TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    workflow: Workflow
    inputs: dict[str, Any]
    owner: str
    model_override: str | None
    status: str
    pending: dict[str, Any] | None
    seq_reserved: int
    elapsed_s: float


class RunStore:
    """The `graphwright_runs` table (thread-safe; WAL so it coexists with the checkpointer).

    Statements go through `_rows`, so `orchestrator.pg_state.PgRunStore` reuses them on PostgreSQL.
    """

    _RESERVE_SQL = "UPDATE graphwright_runs SET seq_reserved = MAX(seq_reserved, ?) WHERE run_id = ?"
    _STATUS_SQL = ("UPDATE graphwright_runs SET status = ?, pending_json = ?, elapsed_s = elapsed_s + ?, updated = ?"
                   " WHERE run_id = ?")

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / RUNS_FILE_NAME
        self.checkpoints = data_dir / FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(RUNS_SCHEMA)
        self._db.execute(REPLAYS_SCHEMA)

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, run_id: str, workflow: Workflow, inputs: dict[str, Any], owner: str,
               model_override: str | None) -> None:
        now = time.time()
        self._rows(
            "INSERT INTO graphwright_runs (run_id, workflow_json, inputs_json, owner, model_override,"
            " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, workflow.model_dump_json(by_alias=True, exclude_none=True), json.dumps(inputs),
             owner, model_override, now, now),
        )

    def save_replay(self, run_id: str, plan_json: str) -> None:
        self._rows("INSERT INTO graphwright_replays (run_id, plan_json) VALUES (?, ?)", (run_id, plan_json))

    def replay_of(self, run_id: str) -> str | None:
        """The saved plan of a replay run (JSON), None for an ordinary run."""
        rows = self._rows("SELECT plan_json FROM graphwright_replays WHERE run_id = ?", (run_id,))
        return rows[0][0] if rows else None

    def get(self, run_id: str) -> StoredRun | None:
        rows = self._rows(
            "SELECT run_id, workflow_json, inputs_json, owner, model_override, status, pending_json,"
            " seq_reserved, elapsed_s FROM graphwright_runs WHERE run_id = ?", (run_id,)
        )
        if not rows:
            return None
        row = rows[0]
        return StoredRun(row[0], Workflow.model_validate_json(row[1]), json.loads(row[2]), row[3], row[4],
                         row[5], json.loads(row[6]) if row[6] else None, int(row[7]), float(row[8]))

    def set_status(self, run_id: str, status: str, *, pending: dict[str, Any] | None = None,
                   add_elapsed: float = 0.0) -> None:
        self._rows(self._STATUS_SQL, (status, json.dumps(pending) if pending else None, add_elapsed, time.time(), run_id))

    def reassign(self, old_owner: str, new_owner: str) -> int:
        """Give `old_owner`'s runs to `new_owner` (a visitor claiming their anonymous runs); returns how many."""
        return len(self._rows("UPDATE graphwright_runs SET owner = ? WHERE owner = ? RETURNING run_id",
                              (new_owner, old_owner)))

    def crashed(self) -> list[tuple[str, str, str, float]]:
        """`(run id, workflow name, owner, created)` of runs still marked running.

        Only meaningful at start-up, under the data dir's lock: then their process died.
        """
        rows = self._rows("SELECT run_id, workflow_json, owner, created FROM graphwright_runs"
                          " WHERE status = 'running'", ())
        return [(r[0], str(json.loads(r[1]).get("name", "")), r[2], r[3]) for r in rows]

    def reserve_seq(self, run_id: str, up_to: int) -> None:
        self._rows(self._RESERVE_SQL, (up_to, run_id))


class SeqCounter:
    """Per-run `seq`: strictly increasing across resumes and crashes (reserved in blocks)."""

    def __init__(self, store: RunStore, run_id: str, start: int) -> None:
        self.store, self.run_id = store, run_id
        self.value = start
        self.reserved = start
        self._reserve()

    def next(self) -> int:
        self.value += 1
        if self.value >= self.reserved:
            self._reserve()
        return self.value

    def _reserve(self) -> None:
        self.reserved = self.value + SEQ_BLOCK
        self.store.reserve_seq(self.run_id, self.reserved)


@asynccontextmanager
async def open_saver(path: Path) -> AsyncIterator[Any]:
    """LangGraph's async SQLite checkpointer on `path` (create it inside the loop that uses it).

    Concurrent runs each hold a connection to the same file; sqlite's default 5 s busy wait is not
    enough on a loaded machine (runs failed with "database is locked"), hence `BUSY_TIMEOUT_S`.
    """
    import aiosqlite

    from orchestrator.group_commit import GroupCommitSaver

    conn = await aiosqlite.connect(str(path), timeout=BUSY_TIMEOUT_S)
    # WAL (set by the saver's setup) with NORMAL: a commit survives the process being killed (kill -9),
    # without an fsync per commit; only a power loss can take the last commits back.
    async with conn.execute("PRAGMA synchronous=NORMAL"):
        pass
    saver = GroupCommitSaver(conn)
    try:
        yield saver
    finally:
        await _run_to_completion(_close_saver(saver))


async def _close_saver(saver: Any) -> None:
    """Close the saver's connection once no write of it is half done.

    A cancelled run can leave one of LangGraph's background writes (`aput_writes`) between its
    INSERT and its COMMIT. Closing the connection under it made the COMMIT and the cursor's close
    fail, and sqlite's `close_v2` then kept the connection alive as a "zombie" (its cursor still
    held a statement) with the write transaction open: a resume of the run waited `BUSY_TIMEOUT_S`
    and failed with "database is locked". Every write of the saver holds `saver.lock` from INSERT to
    COMMIT, so taking the lock lets the write in flight (and those already queued for the lock)
    finish, and their pending writes are kept; a write that asks later finds the connection closed
    and opens nothing.
    """
    acquired = False
    try:
        async with asyncio.timeout(BUSY_TIMEOUT_S + 5.0):
            await saver.drain()  # the writes queued for the next group commit are in flight too
            acquired = await saver.lock.acquire()
    except TimeoutError:  # a write stuck for longer than sqlite's own wait: close under it anyway
        log.error("closing the checkpointer with a write still in flight")
    try:
        if acquired and saver.conn.in_transaction:  # left open by something: undo it now, not at GC
            await saver.conn.rollback()
    finally:
        await saver.conn.close()
        if acquired:
            saver.lock.release()


async def _run_to_completion(work: Awaitable[Any]) -> None:
    """Await `work` to its end even when this task is cancelled meanwhile (then re-raise the cancellation)."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = cancelled or not task.done()
    task.result()
    if cancelled:
        raise asyncio.CancelledError
