"""Pools of PostgreSQL connections that cost no round trip to hand out a healthy connection.

psycopg_pool's usual `check` (`check_connection`) sends an empty query before every checkout: a
round trip per statement, which doubled what a cluster run asked of Postgres (59 of its 131
statements were these checks). A connection the server has dropped (a restart, an idle timeout)
has its farewell and EOF waiting on its socket, so a zero-timeout `poll` tells a suspect one from
a healthy one; only a suspect one is checked (and replaced by the pool when the check fails).
"""

from __future__ import annotations

import select
from typing import Any


def _suspect(con: Any) -> bool:
    """Whether an idle pooled connection may be dead: closed, or its socket has something to read.

    A healthy idle connection has nothing to read; one the server dropped (a restart, an idle
    timeout) has its farewell and EOF waiting, so `poll` sees it without a round trip.
    """
    if con.closed or con.broken:
        return True
    try:
        poller = select.poll()
        poller.register(con.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - no socket to look at (OSError, or psycopg's own error): ask the server
        return True


def check_if_suspect(con: Any) -> None:
    """A pool `check`: the server is asked (a round trip) only about a connection that looks dead."""
    from psycopg_pool import ConnectionPool

    if _suspect(con):
        ConnectionPool.check_connection(con)


async def acheck_if_suspect(con: Any) -> None:
    from psycopg_pool import AsyncConnectionPool

    if _suspect(con):
        await AsyncConnectionPool.check_connection(con)


def connect_pool(dsn: str, *, max_size: int = 8) -> Any:
    """A thread-safe pool of autocommit connections, each replaced when it turns out dead before use."""
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(dsn, min_size=1, max_size=max_size, kwargs={"autocommit": True},
                          check=check_if_suspect, open=False, name="graphwright")
    pool.open(wait=True, timeout=30)
    return pool
