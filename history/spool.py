"""The run history's inbox, writing side: a CLI run records its events in a spool file of its own.

Why: DuckDB lets one process at a time write the history file, and the app may hold it; loading
DuckDB also costs a CLI run ≈50 MB. So `graphwright run` writes every event (scrubbed as every
history row is) to a small SQLite file under DATA_DIR/inbox/, and whoever holds the DuckDB history
ingests it (`history.inbox`): when it opens the file, and the app every second while it runs.

    spool = Spool.create(data_dir)        # DATA_DIR/inbox/<utc time, ns>-<pid>-<random>.spool
    engine = Engine(sinks=[spool.sink])   # the same sink as `HistoryStore.sink`
    spool.close()                         # flushes; the ingester deletes the file once it is in DuckDB

Acknowledged means committed: after `flush()` returns True (or `record(..., wait=True)` returns)
the events are in the spool and survive `kill -9` (WAL with synchronous=NORMAL, as the checkpoints:
only a power loss can lose the last commits). While its process lives the spool is locked (`flock`):
an ingester that can take the lock knows nothing more will be written to it.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from history.errors import HistoryWriteError, QueueFull
from history.queue_writer import QueueWriter
from history.scrub import spooled
from orchestrator import events as ev

log = logging.getLogger(__name__)

INBOX_DIR = "inbox"
SUFFIX = ".spool"
FORMAT = 1  # `PRAGMA user_version` of the spools this code writes and reads
SCHEMA = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,   -- spool order; the ingester's mark
    run_id TEXT NOT NULL,
    type TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    body TEXT NOT NULL        -- the scrubbed event as JSON (`orchestrator.events.parse_event`)
)
"""
_INSERT = "INSERT INTO events (run_id, type, seq, ts, body) VALUES (?, ?, ?, ?, ?)"


def connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


@dataclass
class _Rows:
    count: int
    rows: list[tuple[Any, ...]] = field(default_factory=list)


class _SpoolWriter(QueueWriter):
    retried = (sqlite3.OperationalError, OSError)  # a full disk, a locked file: kept and retried

    def __init__(self, con: sqlite3.Connection, **kwargs: Any) -> None:
        self._con = con
        super().__init__(**kwargs)

    def _convert(self, items: list[ev.Event]) -> _Rows:
        batch = _Rows(len(items))
        for item in items:
            try:
                event = spooled(item)  # secrets never reach the spool
                batch.rows.append((event.run_id, event.type, event.seq, event.ts, event.model_dump_json()))
            except Exception:  # a bug turning an event into JSON: report loudly, keep recording the others
                log.exception("history could not spool '%s' of run '%s'", item.type, item.run_id)
        return batch

    def _write(self, batch: _Rows) -> None:
        con = self._con
        con.execute("BEGIN")
        try:
            con.executemany(_INSERT, batch.rows)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


class Spool:
    """One process's spool: `record`/`sink`/`flush`/`stats`/`close` as on `HistoryStore`."""

    def __init__(self, path: Path, lock_fd: int, *, queue_size: int = 200_000, batch_size: int = 5_000) -> None:
        self.path = path
        self._lock_fd = lock_fd
        self._con = connect(path)
        self._writer = _SpoolWriter(self._con, maxsize=queue_size, batch_size=batch_size, path=str(path))
        self._closed = False
        atexit.register(self.close)

    @classmethod
    def create(cls, data_dir: str | Path | None = None, **kwargs: Any) -> Spool:
        """A new, locked, empty spool in the data dir's inbox (raises OSError when it cannot be written).

        It is built under a hidden temporary name and renamed when complete, so an ingester never
        meets a spool without its table; the lock is taken first and travels with the file.
        """
        from orchestrator.paths import data_dir as default_data_dir

        directory = (Path(data_dir) if data_dir is not None else default_data_dir()) / INBOX_DIR
        directory.mkdir(parents=True, exist_ok=True)
        now = time.time_ns()  # names sort in creation order: a resume is ingested after the run it resumes
        stamp = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now // 10**9))}.{now % 10**9:09d}"
        name = f"{stamp}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        building = directory / f".{name}.tmp"
        fd = os.open(building, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            con = sqlite3.connect(building, isolation_level=None)
            try:
                con.executescript(f"BEGIN; {SCHEMA}; PRAGMA user_version = {FORMAT}; COMMIT;")
            finally:
                con.close()
            os.rename(building, directory / name)
        except BaseException:
            os.close(fd)
            building.unlink(missing_ok=True)
            raise
        return cls(directory / name, fd, **kwargs)

    def record(self, event: ev.Event, *, wait: bool | None = None, timeout: float = 10.0) -> None:
        """Queue one event without blocking (RunStarted waits for its commit unless `wait=False`)."""
        ticket = self._writer.put(event)
        if (wait if wait is not None else isinstance(event, ev.RunStarted)) and not self._writer.wait(ticket, timeout):
            log.warning("history: '%s' of run '%s' not spooled after %.1fs", event.type, event.run_id, timeout)

    @property
    def sink(self) -> Callable[[ev.Event], None]:
        """A callable for the engine: records, and turns a full queue into a logged warning."""

        def _sink(event: ev.Event) -> None:
            try:
                self.record(event, timeout=2.0)
            except (QueueFull, HistoryWriteError) as exc:
                log.warning("history did not record '%s' of run '%s': %s", event.type, event.run_id, exc)

        return _sink

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything queued so far is committed. False on timeout; raises the write error."""
        return self._writer.wait(self._writer.enqueued, timeout)

    def stats(self) -> dict[str, Any]:
        w = self._writer
        return {"enqueued": w.enqueued, "committed": w.committed, "rejected": w.rejected,
                "error": str(w.error) if w.error else None}  # fmt: skip

    def close(self, timeout: float = 30.0) -> None:
        """Flush, close the file and release the lock: from now on an ingester may take the spool whole."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            self.flush(timeout)
        except HistoryWriteError as exc:
            log.error("history spool closing with unwritten events: %s", exc)
        self._writer.close(timeout)
        self._con.close()
        os.close(self._lock_fd)
