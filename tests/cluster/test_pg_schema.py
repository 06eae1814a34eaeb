"""Every history table reaches PostgreSQL with a key: a table added by a DuckDB migration is not forgotten."""

from __future__ import annotations

import duckdb

from history.migrations import LOCAL_TABLES, migrate
from history.pg_schema import KEYS


def test_every_history_table_has_a_key_in_postgres() -> None:
    con = duckdb.connect()
    try:
        migrate(con)
        tables = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    finally:
        con.close()
    assert tables - set(LOCAL_TABLES) == set(KEYS)
