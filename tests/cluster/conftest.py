"""A real PostgreSQL for the cluster-mode tests, started once per session from Debian's binaries.

`postgres_server` is the server (restart it to test reconnects), `postgres_dsn` its DSN (plain text:
pass it to subprocesses), `fresh_dsn` a new empty database per test so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from testkit.postgres import PgServer, pg_bin

_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (scripts/system-deps.sh installs Debian's `postgresql`)")
    pytest.importorskip("psycopg", reason="cluster dependencies missing: pip install -r requirements-cluster.txt")
    with PgServer.start_new() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: PgServer) -> str:
    return postgres_server.dsn


@pytest.fixture
def fresh_dsn(postgres_server: PgServer) -> str:
    return postgres_server.create_database(f"gw_test_{next(_names)}")
