"""The run history's inbox, reading side: other processes' spools (`history.spool`) into the DuckDB file.

Whoever holds the DuckDB history ingests: `HistoryStore` when it opens the file (before it marks dead
runs interrupted), and the app while it runs (`Follower`, every second), so a CLI run shows in the
dashboards moments after its events are spooled.

Exactly once: each chunk of a spool is written together with its mark (`inbox_ingested`: the last
spool row in it) in one DuckDB transaction, and reading resumes after the mark, so a spool read
again (a crash before its file was deleted, a kill between two polls) adds nothing twice. A spool
is deleted only once its writer is gone (its lock is free) and after the DuckDB commit of its last
row. A run its writer left unfinished (`kill -9`) gets the `run_interrupted` of a process death, as
runs of a dead app do, so it shows as resumable; that event counts as one more row in the mark.

A spool that cannot be read (not SQLite, a newer format, a row that is not an event) is reported
once (`Inbox.problems`, and the log) and kept, never deleted; the rows before a bad row are ingested.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from history.errors import HistoryWriteError, QueueFull
from history.rows import Batch, InboxChunk, Tracker
from history.spool import FORMAT, INBOX_DIR, SUFFIX
from history.writer import Writer, convert, write_batch
from orchestrator import events as ev

log = logging.getLogger(__name__)

CHUNK_ROWS = 5_000  # spool rows per DuckDB transaction
_LAST_ROWS = """
SELECT e.run_id, e.type, m.seq, e.ts FROM events e
JOIN (SELECT run_id, max(id) AS last, max(seq) AS seq FROM events GROUP BY run_id) m ON e.id = m.last
"""


@dataclass(frozen=True)
class Pending:
    chunk: InboxChunk
    path: Path
    last: bool  # the spool is complete and this chunk ends it: delete the file once it is committed


def marks(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How far each spool was ingested, as committed."""
    return dict(cur.execute("SELECT spool, upto FROM inbox_ingested").fetchall())


def _writer_gone(path: Path) -> bool:
    """True when no process holds the spool's lock: its writer closed it or died.

    Call it before opening the file with SQLite: closing this descriptor drops this process's POSIX
    locks on the file (SQLite's own), a trap only when one process both writes and reads a spool.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=10)
    try:
        con.execute("PRAGMA query_only = ON")
        (version,) = con.execute("PRAGMA user_version").fetchone()
        if version > FORMAT:
            raise sqlite3.DatabaseError(f"spool format {version} is newer than this graphwright reads "
                                        f"({FORMAT}): upgrade graphwright")
        if version != FORMAT:
            raise sqlite3.DatabaseError(f"spool format {version} is not one graphwright writes ({FORMAT})")
        con.execute("SELECT id, body FROM events LIMIT 0")
    except BaseException:
        con.close()
        raise
    return con


class Inbox:
    """The spools of one data directory: what is new in them, and which are complete."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / INBOX_DIR
        self.problems: dict[str, str] = {}  # spool name -> why it is kept (reported once)
        self.live: set[str] = set()  # runs of spools still being written (as of the last `pending`)

    def pending(self, ingested: dict[str, int]) -> Iterator[Pending]:
        """Chunks past each spool's mark, spool by spool in the order they were created.

        The caller writes (or queues) each chunk before asking for the next; a spool that fails is
        skipped from then on (`problem`)."""
        self.live = set()
        if not self.directory.is_dir():
            return
        try:
            self._sweep()
        except OSError as exc:  # leftovers stay; the spools themselves are still read
            log.warning("history: could not tidy the run-history inbox %s: %s", self.directory, exc)
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path.name not in self.problems:
                yield from self._read(path, ingested.get(path.name, 0))

    def problem(self, path: Path, why: str) -> None:
        if path.name not in self.problems:
            self.problems[path.name] = (f"run-history inbox: {path}: {why}; the file is kept, not deleted "
                                        "(move it out of the inbox once you have looked at it)")
            log.error("%s", self.problems[path.name])

    def remove(self, pending: Pending, cur: duckdb.DuckDBPyConnection) -> bool:
        """Delete a complete spool whose last chunk is committed (the mark in DuckDB says so)."""
        row = cur.execute("SELECT upto FROM inbox_ingested WHERE spool = ?", [pending.chunk.spool]).fetchone()
        if row is None or row[0] < pending.chunk.upto:
            log.error("history: spool %s is not in the history file yet; kept", pending.path)
            return False
        for suffix in ("", "-wal", "-shm"):
            Path(f"{pending.path}{suffix}").unlink(missing_ok=True)
        return True

    def _sweep(self) -> None:
        """Remove what a process killed at the wrong moment left: a spool never finished building
        (it holds no event yet), the WAL files of a deleted spool."""
        for path in self.directory.glob(f".*{SUFFIX}.tmp"):
            if _writer_gone(path):
                path.unlink(missing_ok=True)
        for path in [*self.directory.glob(f"*{SUFFIX}-wal"), *self.directory.glob(f"*{SUFFIX}-shm")]:
            if not Path(str(path)[:-4]).exists():
                path.unlink(missing_ok=True)

    def _read(self, path: Path, mark: int) -> Iterator[Pending]:
        try:
            complete = _writer_gone(path)  # first: once the lock is free, nothing more will be written
            con = _open(path)
        except (sqlite3.Error, OSError) as exc:
            self.problem(path, f"not a run-history spool this graphwright can read ({exc})")
            return
        last: Pending | None = None
        try:
            while path.name not in self.problems:
                rows = con.execute("SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                   [mark, CHUNK_ROWS]).fetchall()
                events, upto = self._parse(path, rows, mark)
                if len(rows) == CHUNK_ROWS and path.name not in self.problems:
                    yield Pending(InboxChunk(path.name, upto, tuple(events)), path, last=False)
                    mark = upto
                    continue
                if not complete or path.name in self.problems:
                    if not complete:  # its runs are still going: nobody may mark them interrupted
                        self.live |= {r for (r,) in con.execute("SELECT DISTINCT run_id FROM events")}
                    if events:
                        yield Pending(InboxChunk(path.name, upto, tuple(events)), path, last=False)
                    return
                (end,) = con.execute("SELECT coalesce(max(id), 0) + 1 FROM events").fetchone()
                if mark < end:  # the spool's end is not ingested yet: runs it left unfinished end here
                    events += _cut_off(con)
                last = Pending(InboxChunk(path.name, end, tuple(events)), path, last=True)
                break
        except sqlite3.Error as exc:
            self.problem(path, f"reading it failed ({exc})")
        finally:
            con.close()
        if last is not None:  # yielded closed: the caller deletes the file once the chunk is committed
            yield last

    def _parse(self, path: Path, rows: list[tuple[int, str]], mark: int) -> tuple[list[ev.Event], int]:
        """The events of `rows` up to the first one that does not parse (reported), and the last good id."""
        events: list[ev.Event] = []
        for row_id, body in rows:
            try:
                events.append(ev.parse_event(body))
            except ValueError as exc:
                self.problem(path, f"row {row_id} is not a run event ({str(exc).splitlines()[0]}); "
                             "the rows before it are in run history")
                break
            mark = row_id
        return events, mark


def _cut_off(con: sqlite3.Connection) -> list[ev.Event]:
    """A `run_interrupted` for every run whose last spooled event does not end it (its process died)."""
    return [ev.RunInterrupted(run_id=run_id, seq=seq + 1, ts=ts, reason="process_died")
            for run_id, kind, seq, ts in con.execute(_LAST_ROWS).fetchall() if kind not in ev.TERMINAL_TYPES]


def ingest_now(con: duckdb.DuckDBPyConnection, inbox: Inbox) -> int:
    """Ingest every spool now, one transaction per chunk, on the caller's connection (the store's
    open, before its writer starts); returns the number of chunks written."""
    tracker, written = None, 0
    for pending in inbox.pending(marks(con)):
        tracker = tracker or Tracker(con)
        batch = Batch()
        try:
            convert(tracker, [pending.chunk], batch)
            write_batch(con, batch)
        except Exception as exc:  # noqa: BLE001 - the spool is kept; the history opens all the same
            inbox.problem(pending.path, f"ingesting it failed ({exc})")
            continue
        written += 1
        if pending.last:
            inbox.remove(pending, con)
    return written


class Follower:
    """The app's ingest while it runs: every `interval` s, new spool rows go through the store's
    writer (one queue item per chunk, so a chunk and its mark share a batch and its commit)."""

    def __init__(self, inbox: Inbox, writer: Writer, cursor: Callable[[], Any], interval: float = 1.0) -> None:
        self._inbox, self._writer, self._cursor, self._interval = inbox, writer, cursor, interval
        self._queued = marks(cursor())  # how far each spool was queued: committed, or ahead of the commit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="history-inbox", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - keep following; the next poll tries again
                log.exception("history: reading the run-history inbox failed")

    def poll(self) -> None:
        for pending in self._inbox.pending(self._queued):
            try:
                ticket = self._writer.put(pending.chunk)
            except (QueueFull, HistoryWriteError) as exc:
                log.warning("history: spool %s waits for the next poll: %s", pending.path, exc)
                return
            self._queued[pending.chunk.spool] = pending.chunk.upto
            if pending.last and self._writer.wait(ticket, 30.0):
                self._inbox.remove(pending, self._cursor())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
