"""A bounded queue drained in batches by one background thread: what every history writer shares.

Callers never wait for disk: `put` appends to an in-memory queue or raises `QueueFull` (a full
queue is reported, never dropped silently). The thread takes everything queued (up to
`batch_size`), turns it into one batch (`_convert`), writes it and commits once (`_write`).

Acknowledged means committed: every item with a ticket <= `committed` is on disk and survives
`kill -9`. A batch that fails to write (disk full, I/O error: the `retried` errors) is kept and
retried with backoff; `error` says why until a retry succeeds. Subclasses pick the store: the
DuckDB file (`history.writer`), PostgreSQL (`history.pg_store`), a CLI run's spool (`history.spool`).
This module imports nothing heavy: the CLI's run path uses it without DuckDB.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Protocol

from history.errors import HistoryWriteError, QueueFull

log = logging.getLogger(__name__)


class Counted(Protocol):
    count: int  # queue items the batch acknowledges when it commits


class QueueWriter:
    retried: tuple[type[BaseException], ...] = (OSError,)  # write failures kept and retried

    def __init__(self, *, maxsize: int, batch_size: int, path: str) -> None:
        self._path = path
        self._maxsize = maxsize
        self._batch_size = batch_size
        self._pending: deque[Any] = deque()
        self._cv = threading.Condition()
        self.enqueued = 0  # tickets handed out
        self.committed = 0  # tickets durably written
        self.rejected = 0  # items refused because the queue was full
        self.error: HistoryWriteError | None = None
        self.failures = 0  # failed write attempts so far
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="history-writer", daemon=True)
        self._thread.start()

    # -- the store's side ---------------------------------------------------------------------

    def _convert(self, items: list[Any]) -> Counted:
        raise NotImplementedError

    def _write(self, batch: Any) -> None:
        raise NotImplementedError

    # -- the callers' side --------------------------------------------------------------------

    def put(self, item: Any) -> int:
        """Queue one item without blocking; returns its ticket."""
        with self._cv:
            if self._closing:
                raise HistoryWriteError(f"the history store '{self._path}' is closed")
            if len(self._pending) >= self._maxsize:
                self.rejected += 1
                raise QueueFull(self._maxsize, getattr(item, "type", type(item).__name__))
            self._pending.append(item)
            self.enqueued += 1
            if len(self._pending) == 1:
                self._cv.notify_all()
            return self.enqueued

    def wait(self, ticket: int, timeout: float | None) -> bool:
        """Block until `ticket` is committed; raise the write error when an attempt fails meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            failures = self.failures
            while self.committed < ticket:
                if self.error is not None and self.failures > failures:
                    raise self.error
                if not self._thread.is_alive():
                    raise HistoryWriteError(f"the history writer of '{self._path}' stopped")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cv.wait(0.2 if remaining is None else min(remaining, 0.2))
        return True

    def close(self, timeout: float | None) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------------

    def _take(self) -> list[Any] | None:
        with self._cv:
            while not self._pending and not self._closing:
                self._cv.wait(0.5)
            if not self._pending:
                return None
            n = min(len(self._pending), self._batch_size)
            return [self._pending.popleft() for _ in range(n)]

    def _loop(self) -> None:
        batch: Counted | None = None
        items: list[Any] | None = None
        delay = 0.05
        while True:
            try:
                if batch is None:
                    items = items or self._take()
                    if items is None:
                        return
                    batch = self._convert(items)
                self._write(batch)
            except self.retried as exc:
                count = batch.count if batch is not None else len(items or ())
                with self._cv:
                    self.error = HistoryWriteError(
                        f"could not write {count} history events to '{self._path}': {exc}; "
                        "they stay queued and are retried (free disk space if the disk is full)"
                    )
                    self.failures += 1
                    self._cv.notify_all()
                    closing = self._closing
                log.error("%s", self.error)
                if closing and delay > 1.0:
                    log.error("history store closing with %d unwritten events", count)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            with self._cv:
                self.committed += batch.count
                self.error = None
                self._cv.notify_all()
            batch, items, delay = None, None, 0.05
