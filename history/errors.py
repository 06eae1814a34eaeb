"""Errors of the run history.

    HistoryError                  anything the history store refuses or cannot do
    ├── HistoryLocked             another process owns the data directory (one writer per DuckDB file)
    ├── QueueFull                 the writer is behind; the event was NOT queued (the caller decides)
    ├── HistoryWriteError         a batch could not be written (disk full, I/O error); the app keeps serving
    ├── MigrationError            the file's schema is newer than this code, or a migration failed
    ├── QuotaExceeded             a run was refused before it started: a visitor's quota is used up
    ├── ClaimRefused              a signed-in visitor's claim of anonymous runs cannot happen (or happened)
    └── SqlBoxError               a power-user query was refused or failed
        ├── SqlBoxTimeout         it ran longer than its time limit and was stopped
        └── SqlBoxBusy            this visitor's previous query is still running
"""

from __future__ import annotations


class HistoryError(Exception):
    """Base class: catch this to handle every history failure in one place."""


class HistoryLocked(HistoryError):
    def __init__(self, lock_path: str, pid: int | None) -> None:
        self.lock_path = lock_path
        self.pid = pid
        owner = f"process {pid}" if pid else "another process"
        super().__init__(
            f"the data directory is in use by {owner} (lock file '{lock_path}'); "
            "only one graphwright app may use a data directory at a time: stop the other one "
            "or set GRAPHWRIGHT_DATA_DIR to a different directory"
        )


class QueueFull(HistoryError):
    def __init__(self, maxsize: int, event_type: str) -> None:
        self.maxsize = maxsize
        super().__init__(
            f"history queue is full ({maxsize} events waiting); the '{event_type}' event was not "
            "recorded: the writer is behind or failing (see the log for 'HistoryWriteError')"
        )


class HistoryWriteError(HistoryError):
    """Raised by `flush()` when the writer failed; the failed batch stays queued for a retry."""


class MigrationError(HistoryError):
    pass


class QuotaExceeded(HistoryError):
    """Says which quota, how much is left and when it resets (`history.quotas` words it)."""

    def __init__(self, quota: str, message: str) -> None:
        self.quota = quota
        super().__init__(message)


class ClaimRefused(HistoryError):
    """Says why in the visitor's terms (`history.claims` words it)."""


class SqlBoxError(HistoryError):
    pass


class SqlBoxTimeout(SqlBoxError):
    pass


class SqlBoxBusy(SqlBoxError):
    pass
