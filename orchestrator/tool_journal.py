"""At-most-once tool side effects across a crash: a journal of the tool calls of steps in flight.

After kill -9 the step that was in flight runs again on resume, and its model asks for the same
tool calls again; an `http` POST or a `python` tool must not run twice. Before a tool runs, its call
is written (durably, in `runs.sqlite`) under a key made of the run, the step execution (its loop
iterations and map item), the tool and its arguments; the outcome is written when it returns. When a
resumed step asks for a call the journal already holds from an earlier process, the recorded outcome
is replayed instead of running the tool again — or, if that process died while the tool was running,
an error says the outcome is unknown. Entries stay until the run ends for good: with async
checkpoints a step that finished just before a kill can run again too (its result had not reached
the disk), and its calls must still be replayed then.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextvars import ContextVar
from pathlib import Path
from typing import Any

JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphwright_tool_calls (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, key)
)
"""
INTERRUPTED = ("error: this tool call was interrupted by a crash of the app and was not repeated (it may "
               "or may not have taken effect); check its effect before calling it again")


class ToolJournal:
    """The journal of one data dir (thread-safe); `claim` per process so replays happen once.

    Statements go through `_row` (reads) and `_write`, so `orchestrator.pg_state.PgToolJournal` reuses
    them on PostgreSQL (where a run's writes are fenced: `orchestrator.fencing`).
    """

    _BEGIN_SQL = "INSERT OR REPLACE INTO graphwright_tool_calls (run_id, key) VALUES (?, ?)"

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(JOURNAL_SCHEMA)
        self._seen: set[tuple[str, str]] = set()  # (run, key) met by this process: never replayed twice

    def _row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _write(self, run_id: str, sql: str, params: tuple[Any, ...], *, quiet: bool = False) -> None:
        self._row(sql, params)

    def start_segment(self, run_id: str) -> None:
        """A run (re)starts: calls recorded by its earlier segments may be replayed once each."""
        with self._lock:
            self._seen = {seen for seen in self._seen if seen[0] != run_id}

    @staticmethod
    def key(step_id: str, name: str, arguments: str, execution: str = "") -> str:
        """`execution` tells apart runs of one step (loop iterations, map items)."""
        return hashlib.sha256(f"{step_id}\0{execution}\0{name}\0{arguments}".encode()).hexdigest()

    def replay(self, run_id: str, key: str) -> tuple[bool, str] | None:
        """The recorded `(ok, text)` of a call an earlier process made, else None (then `begin` it)."""
        with self._lock:
            if (run_id, key) in self._seen:
                return None
            self._seen.add((run_id, key))
        row = self._row("SELECT done, ok, result FROM graphwright_tool_calls WHERE run_id = ? AND key = ?",
                        (run_id, key))
        if row is None:
            return None
        return (bool(row[1]), row[2]) if row[0] else (False, INTERRUPTED)

    def begin(self, run_id: str, key: str) -> None:
        with self._lock:
            self._seen.add((run_id, key))
        self._write(run_id, self._BEGIN_SQL, (run_id, key))

    def end(self, run_id: str, key: str, ok: bool, text: str) -> None:
        self._write(run_id, "UPDATE graphwright_tool_calls SET done = 1, ok = ?, result = ? WHERE run_id = ? AND key = ?",
                    (int(ok), text, run_id, key), quiet=True)

    def forget_run(self, run_id: str) -> None:
        """Drop a run's entries once it has ended for good (finished or rejected: never resumed)."""
        self._write(run_id, "DELETE FROM graphwright_tool_calls WHERE run_id = ?", (run_id,), quiet=True)
        with self._lock:
            self._seen = {seen for seen in self._seen if seen[0] != run_id}

    def close(self) -> None:
        with self._lock:
            self._db.close()


CURRENT_JOURNAL: ContextVar[Any] = ContextVar("graphwright_tool_journal", default=None)
"""The engine's journal, set for the tasks of a run (None: tools run without one, e.g. in tests)."""
