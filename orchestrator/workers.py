"""Bounded thread pools, one per kind of blocking work, and per-visitor sandbox slots.

asyncio's default pool is shared by everything in the process (6 threads on a 2-core machine): six
sleeping tool calls of one visitor used to hold every thread, so another visitor's run could not
even start (its Ollama probe waited behind them). Each kind of blocking work gets its own pool here,
so none can wait behind another, and sandbox calls are capped per process (the pool's size) and per
visitor (a semaphore per owner), so one visitor's tool calls never take all the containers.

Sizes come from the environment: `GRAPHWRIGHT_SANDBOX_MAX_CONTAINERS` (per process, default 4) and
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
Kind = Literal["sandbox", "sandbox_control", "detect", "blocking"]

CURRENT_OWNER: ContextVar[str] = ContextVar("graphwright_owner", default="")
"""The visitor a run belongs to, set by the engine for the run's task (tool calls read it)."""


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def sandbox_process_cap() -> int:
    return _env_int("GRAPHWRIGHT_SANDBOX_MAX_CONTAINERS", 4)


def sandbox_visitor_cap() -> int:
    return min(_env_int("GRAPHWRIGHT_SANDBOX_PER_VISITOR", 2), sandbox_process_cap())


_SIZES: dict[Kind, Callable[[], int]] = {
    "sandbox": sandbox_process_cap,  # one thread per running container: the pool is the process cap
    "sandbox_control": lambda: 2,  # kills on Stop: never queued behind the calls they stop
    "detect": lambda: 2,  # Ollama detection at the start of a run
    "blocking": lambda: 4,  # anything else (the first LiteLLM import, ...)
}
_pools: dict[Kind, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def pool(kind: Kind) -> ThreadPoolExecutor:
    """The process's pool for `kind` (created on first use)."""
    with _lock:
        executor = _pools.get(kind)
        if executor is None:
            executor = ThreadPoolExecutor(_SIZES[kind](), thread_name_prefix=f"graphwright-{kind}")
            _pools[kind] = executor
        return executor


async def run_in(kind: Kind, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """`fn(*args, **kwargs)` in the `kind` pool, awaited without blocking the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool(kind), functools.partial(fn, *args, **kwargs))


@dataclass
class _Slots:
    semaphore: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(sandbox_visitor_cap()))
    users: int = 0  # holders and waiters; the entry goes when it drops to 0


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Slots]] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def visitor_sandbox_slot(owner: str | None = None) -> AsyncIterator[None]:
    """Hold one of the visitor's sandbox slots (waits while they have all of theirs in use)."""
    key = CURRENT_OWNER.get() if owner is None else owner
    per_loop = _slots.setdefault(asyncio.get_running_loop(), {})
    entry = per_loop.setdefault(key, _Slots())
    entry.users += 1
    try:
        async with entry.semaphore:
            yield
    finally:
        entry.users -= 1
        if entry.users == 0:
            per_loop.pop(key, None)
