"""The app replica's side of the event bus: follow runs' recorded events, live.

One `_Feed` per event loop and database: one connection that `LISTEN`s on the bus's single channel
(opened once, not per run: no connection and no `LISTEN` round trip on a run's path), and a small
pool for reading rows. A notification `<run_id>:<seq>` wakes that run's followers, which read the
rows after the last `seq` they have. A follower also re-reads every `POLL_S` without one; when the
listening connection is lost (a Postgres restart), it listens again and wakes every follower, so
what was announced meanwhile is read from the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from orchestrator import events as ev

log = logging.getLogger(__name__)

CHANNEL = "graphwright_run_events"
POLL_S = 1.0  # a follower re-reads this often even without a notification
_ROWS = "SELECT seq, event::text FROM graphwright_run_events WHERE run_id = %s AND seq > %s ORDER BY seq"
_LAST = "SELECT coalesce(max(seq), 0) FROM graphwright_run_events WHERE run_id = %s"


@asynccontextmanager
async def subscribe(dsn: str, run_id: str, after: int = 0) -> AsyncIterator[Subscription]:
    """Listen to a run's events (the listening starts on entering), yielding those after `after`.

    Enter before starting or signalling the run so nothing is missed; iterate to get the recorded
    events first, then the live ones. The iterator never ends by itself: the caller stops at the
    event that ends what it waits for.
    """
    feed = await _feed(dsn)
    wake = asyncio.Event()
    feed.followers.setdefault(run_id, set()).add(wake)
    try:
        yield Subscription(feed, run_id, after, wake)
    finally:
        followers = feed.followers.get(run_id, set())
        followers.discard(wake)
        if not followers:
            feed.followers.pop(run_id, None)


async def last_seq(dsn: str, run_id: str) -> int:
    """The highest recorded `seq` of a run (0 when none): a follower that already shows the trace starts after it."""
    feed = await _feed(dsn)
    rows = await feed.read(_LAST, (run_id,))
    return int(rows[0][0]) if rows else 0


async def notify(dsn: str, channel: str, message: str) -> None:
    """`pg_notify` on this loop's feed pool (no new connection): e.g. a Stop announced to the workers."""
    feed = await _feed(dsn)
    async with feed.pool.connection() as con:
        await con.execute("SELECT pg_notify(%s, %s)", (channel, message))


class Subscription:
    """A run's events after `after`, in `seq` order as they arrive (an async iterator), and `missed()`:
    recorded ones it passed over. A worker that lost its lease but had not heard yet can record events
    with higher `seq`s than the attempt that replaced it; reading "after the last seq seen" then skips
    the live attempt's own events, its last one included (seen in the soak test)."""

    def __init__(self, feed: _Feed, run_id: str, after: int, wake: asyncio.Event) -> None:
        self.feed, self.run_id, self.after = feed, run_id, after
        self.seen: set[int] = set()
        self._events = feed.follow(run_id, after, wake, self.seen)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> ev.Event:
        return await anext(self._events)

    async def missed(self) -> list[ev.Event]:
        """Recorded events after `after` not yielded yet, in `seq` order."""
        rows = await self.feed.read(_ROWS, (self.run_id, self.after))
        return [ev.parse_event(data) for seq, data in rows if seq not in self.seen]


_FEEDS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Feed]] = weakref.WeakKeyDictionary()
_OPENING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def _feed(dsn: str) -> _Feed:
    """This loop's feed for `dsn`, listening before it is returned (it ends with its loop)."""
    loop = asyncio.get_running_loop()
    async with _OPENING.setdefault(loop, asyncio.Lock()):
        feeds = _FEEDS.setdefault(loop, {})
        feed = feeds.get(dsn)
        if feed is None or feed.ended():
            feed = feeds[dsn] = await _Feed.open(dsn)
    return feed


class _Feed:
    def __init__(self, dsn: str, listening: Any, pool: Any) -> None:
        self.dsn, self.pool = dsn, pool
        self.followers: dict[str, set[asyncio.Event]] = {}
        self._task = asyncio.get_running_loop().create_task(self._listen(listening))

    @classmethod
    async def open(cls, dsn: str) -> _Feed:
        from psycopg_pool import AsyncConnectionPool

        from orchestrator.pg_pool import acheck_if_suspect

        pool = AsyncConnectionPool(dsn, min_size=1, max_size=4, open=False, check=acheck_if_suspect,
                                   kwargs={"autocommit": True}, name="graphwright-feed")
        await pool.open(wait=True, timeout=30)
        try:
            listening = await _listening(dsn)
        except BaseException:
            await pool.close()
            raise
        return cls(dsn, listening, pool)

    def ended(self) -> bool:
        return self._task.done()

    async def read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of a query on the pool, waiting out a Postgres restart."""
        import psycopg

        while True:
            try:
                async with self.pool.connection() as con:
                    return await (await con.execute(sql, params)).fetchall()
            except psycopg.OperationalError as exc:
                log.warning("reading run events failed, retrying: %s", exc)
                await asyncio.sleep(0.5)

    async def follow(self, run_id: str, after: int, wake: asyncio.Event, seen: set[int]) -> AsyncIterator[ev.Event]:
        last = after
        while True:
            wake.clear()  # before reading: a notification from now on means another read
            for seq, data in await self.read(_ROWS, (run_id, last)):
                last = seq
                seen.add(seq)
                yield ev.parse_event(data)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await wake.wait()

    def _wake(self, run_id: str | None = None) -> None:
        groups = self.followers.values() if run_id is None else [self.followers.get(run_id, ())]
        for group in groups:
            for wake in group:
                wake.set()

    async def _listen(self, con: Any) -> None:
        import psycopg

        try:
            while True:
                try:
                    async for note in con.notifies():
                        self._wake(note.payload.rsplit(":", 1)[0])
                except psycopg.OperationalError as exc:  # Postgres restarted: listen again, then catch up
                    log.warning("lost the run events channel, listening again: %s", exc)
                    await con.close()
                    con = await _listening(self.dsn, retry=True)
                    self._wake()
        finally:
            feeds = _FEEDS.get(asyncio.get_running_loop(), {})
            if feeds.get(self.dsn) is self:
                del feeds[self.dsn]
            with contextlib.suppress(Exception):
                await con.close()
            await self.pool.close()


async def _listening(dsn: str, retry: bool = False) -> Any:
    """A connection listening on the bus's channel."""
    import psycopg

    while True:
        try:
            con = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            await con.execute(f"LISTEN {CHANNEL}")
            return con
        except psycopg.OperationalError:
            if not retry:
                raise
            await asyncio.sleep(0.5)
