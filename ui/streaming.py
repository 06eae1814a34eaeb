"""Batch a fast event stream into a few UI updates per second.

A model streaming hundreds of tokens a second would otherwise mean hundreds of page updates; the
page would fall behind. `batched` pumps the source in a task and hands out everything that arrived
within `interval` seconds of the first waiting item, so nothing waits longer than that. Cancelling the consumer cancels the pump, and with it the source, so
a Stop click reaches the engine as `CancelledError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

_DONE = object()


async def batched(source: AsyncIterator[Any], interval: float = 0.1) -> AsyncIterator[list[Any]]:
    """Yield lists of items from `source`, at most one list per `interval`, never an empty one."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for item in source:
                queue.put_nowait(item)
        except BaseException as exc:  # forwarded to the consumer, including cancellation
            queue.put_nowait(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            queue.put_nowait(_DONE)

    task = asyncio.create_task(pump())
    loop = asyncio.get_running_loop()
    try:
        done = False
        while not done:
            first = await queue.get()
            batch: list[Any] = []
            deadline = loop.time() + interval
            item = first
            while True:
                if item is _DONE:
                    done = True
                    break
                if isinstance(item, BaseException):
                    if batch:
                        yield batch
                    raise item
                batch.append(item)
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    break
            if batch:
                yield batch
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
