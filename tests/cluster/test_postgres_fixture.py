"""The throwaway server the cluster tests share: it answers, and it comes back after a restart."""

from __future__ import annotations

import pytest

from testkit.postgres import PgServer

pytestmark = pytest.mark.cluster


def test_a_fresh_database_is_empty_and_survives_a_restart(postgres_server: PgServer, fresh_dsn: str) -> None:
    import psycopg

    with psycopg.connect(fresh_dsn, autocommit=True) as con:
        assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        con.execute("CREATE TABLE kept (x int)")
        con.execute("INSERT INTO kept VALUES (1)")
    postgres_server.restart()
    with psycopg.connect(fresh_dsn) as con:
        assert con.execute("SELECT x FROM kept").fetchall() == [(1,)]
