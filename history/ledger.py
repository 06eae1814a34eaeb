"""The quota ledger's one write: admit a run, checking the hourly quota and recording it as one step.

Every admitted run is a row of `quota_ledger` (so a restart forgets nothing). The runs-per-hour
quota is a count of those rows, so checking it and adding the new row must be one step, or two
clicks at once both see the last free run. Locally one process owns the history (the data dir's
lock), and an in-process lock makes it one step (`StoreLedger`); several app replicas share it
through PostgreSQL instead (`history.pg_slots.PgRunLedger`: a per-visitor advisory lock held by the
transaction that counts and inserts). The history store of the deployment gives the right one
(`run_ledger()`), as it gives the concurrent-run slots (`history.slots.RunSlots`).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Protocol

HOUR = timedelta(hours=1)
COUNT_SQL = "SELECT count(*) FROM quota_ledger WHERE owner = ? AND billed AND admitted_at > ?"
INSERT_SQL = "INSERT INTO quota_ledger (owner, run_id, admitted_at, billed) VALUES (?, ?, ?, ?)"


class HourFull(Exception):
    """The owner already has `cap` billed runs admitted in the hour before."""

    def __init__(self, owner: str, cap: int) -> None:
        self.owner, self.cap = owner, cap
        super().__init__(f"'{owner}' already has {cap} run(s) this hour")


class RunLedger(Protocol):
    def admit(self, owner: str, run_id: str, at: datetime, *, billed: bool, per_hour: int | None) -> None:
        """Record `run_id` as admitted at `at`; raises `HourFull` (recording nothing) when it is billed and
        `per_hour` billed runs of `owner` were admitted in the hour before `at`."""
        ...


class StoreLedger:
    """The ledger in one process's history store (DuckDB): its lock makes check-then-record one step."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._lock = threading.Lock()

    def admit(self, owner: str, run_id: str, at: datetime, *, billed: bool, per_hour: int | None) -> None:
        with self._lock:
            if billed and per_hour is not None:
                (runs,) = self.store.read_cursor().execute(COUNT_SQL, [owner, at - HOUR]).fetchone()
                if runs >= per_hour:
                    raise HourFull(owner, per_hour)
            self.store.execute_now(INSERT_SQL, [owner, run_id, at, billed])
