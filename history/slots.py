"""At most N of something at once per visitor: the one gate the SQL box and run admission share.

In memory on purpose: what is *running* ends with the process, so it needs no persistence (the
counters that must survive a restart live in the quota ledger, `history.quotas`). Several app
replicas share their run slots through PostgreSQL instead (`history.pg_slots`), behind the same
`RunSlots` interface: the history store of the deployment gives the right one (`run_slots()`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class SlotsFull(Exception):
    """The owner already holds `cap` slots."""

    def __init__(self, owner: str, cap: int) -> None:
        self.owner, self.cap = owner, cap
        super().__init__(f"'{owner}' already holds {cap} slot(s)")


class RunSlots(Protocol):
    def take(self, owner: str, cap: int) -> None: ...  # raises SlotsFull
    def release(self, owner: str) -> None: ...
    def in_use(self, owner: str) -> int: ...


class OwnerSlots:
    """Non-blocking slots per owner: `hold(owner, cap)` either enters at once or raises `SlotsFull`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}

    def in_use(self, owner: str) -> int:
        with self._lock:
            return self._held.get(owner, 0)

    def take(self, owner: str, cap: int) -> None:
        with self._lock:
            held = self._held.get(owner, 0)
            if held >= cap:
                raise SlotsFull(owner, cap)
            self._held[owner] = held + 1

    def release(self, owner: str) -> None:
        with self._lock:
            held = self._held.get(owner, 0) - 1
            if held > 0:
                self._held[owner] = held
            else:
                self._held.pop(owner, None)

    @contextmanager
    def hold(self, owner: str, cap: int) -> Iterator[None]:
        self.take(owner, cap)
        try:
            yield
        finally:
            self.release(owner)
