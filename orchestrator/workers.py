"""Bounded thread pools, one per kind of blocking work, and per-visitor sandbox slots.

asyncio's default pool is shared by everything in the process (6 threads on a 2-core machine): six
sleeping tool calls of one visitor used to hold every thread, so another visitor's run could not
even start (its Ollama probe waited behind them). Each kind of blocking work gets its own pool here,
so none can wait behind another, and sandbox calls are capped per process (the sandbox pool's size)
and per visitor (a semaphore per owner), so one visitor's tool calls never take all the containers.

The app creates one `Workers` and gives it to every engine (the caps are per process); the engine
makes it current for a run's task (`CURRENT_WORKERS`), where the tools find it. Sizes come from the
environment: `GRAPHWRIGHT_SANDBOX_MAX_CONTAINERS` (per process, default 4) and
`GRAPHWRIGHT_SANDBOX_PER_VISITOR` (default 2).
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal, TypeVar

T = TypeVar("T")
Kind = Literal["sandbox", "sandbox_control", "detect"]

CURRENT_OWNER: ContextVar[str] = ContextVar("graphwright_owner", default="")
"""The visitor a run belongs to, set by the engine for the run's task (tool calls read it)."""
CURRENT_RUN_ID: ContextVar[str] = ContextVar("graphwright_run_id", default="")
"""The run whose task this is (a sandbox container carries it as a label: Stop and operators find it)."""


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


@dataclass
class _Slots:
    semaphore: asyncio.Semaphore
    users: int = 0  # holders and waiters; the entry goes when it drops to 0


@dataclass
class Workers:
    """The pools and sandbox slots of one process (create one per app and pass it in)."""

    sandbox_max: int = field(default_factory=lambda: _env_int("GRAPHWRIGHT_SANDBOX_MAX_CONTAINERS", 4))
    sandbox_per_visitor: int = field(default_factory=lambda: _env_int("GRAPHWRIGHT_SANDBOX_PER_VISITOR", 2))
    _pools: dict[Kind, ThreadPoolExecutor] = field(default_factory=dict, repr=False)
    _slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Slots]] = field(
        default_factory=weakref.WeakKeyDictionary, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.sandbox_per_visitor = min(self.sandbox_per_visitor, self.sandbox_max)

    def pool(self, kind: Kind) -> ThreadPoolExecutor:
        """The pool for `kind`: sandbox calls (one thread per container: the pool is the process
        cap), kills on Stop (never queued behind the calls they stop), Ollama detection."""
        with self._lock:
            executor = self._pools.get(kind)
            if executor is None:
                size = {"sandbox": self.sandbox_max, "sandbox_control": 2, "detect": 2}[kind]
                executor = ThreadPoolExecutor(size, thread_name_prefix=f"graphwright-{kind}")
                self._pools[kind] = executor
            return executor

    async def run_in(self, kind: Kind, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """`fn(*args, **kwargs)` in the `kind` pool, awaited without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool(kind), functools.partial(fn, *args, **kwargs))

    @asynccontextmanager
    async def visitor_sandbox_slot(self, owner: str) -> AsyncIterator[None]:
        """Hold one of the visitor's sandbox slots (waits while they have all of theirs in use)."""
        per_loop = self._slots.setdefault(asyncio.get_running_loop(), {})
        entry = per_loop.setdefault(owner, _Slots(asyncio.Semaphore(self.sandbox_per_visitor)))
        entry.users += 1
        try:
            async with entry.semaphore:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                per_loop.pop(owner, None)


CURRENT_WORKERS: ContextVar[Workers | None] = ContextVar("graphwright_workers", default=None)
"""The engine's `Workers`, set for a run's task."""
