"""Copy a local DuckDB history into the PostgreSQL history (part of `graphwright migrate-history`).

Table by table, in one PostgreSQL transaction: rows go out of DuckDB as CSV (`COPY ... TO`) and
into a temporary table with PostgreSQL's `COPY FROM`, then into the history table with `ON
CONFLICT DO NOTHING` on the row's key, so running the command twice copies nothing twice. The event
id sequence is moved past the copied ids, so later events still replay after the migrated ones.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from history.pg_schema import KEYS, duckdb_columns, migrate_pg
from history.store import HistoryStore


def copy_history(local: HistoryStore, dsn: str) -> dict[str, int]:
    """`{table: rows newly inserted}`; the local store stays open and unchanged."""
    import psycopg

    migrate_pg(dsn)
    columns = duckdb_columns()
    cur = local.read_cursor()
    inserted: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="gw-migrate-") as tmp, psycopg.connect(dsn) as con, con.transaction():
        for table, key in KEYS.items():
            names = ", ".join(c[0] for c in columns[table])
            path = Path(tmp) / f"{table}.csv"
            cur.execute(f"COPY (SELECT {names} FROM {table}) TO '{path}' (FORMAT csv, HEADER false)")
            con.execute(f"CREATE TEMP TABLE _in_{table} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
            with path.open("rb") as src, con.cursor().copy(f"COPY _in_{table} ({names}) FROM STDIN (FORMAT csv)") as copy:
                while block := src.read(1 << 20):
                    copy.write(block)
            inserted[table] = con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _in_{table} "
                                          f"ON CONFLICT ({', '.join(key)}) DO NOTHING").rowcount
        con.execute("SELECT setval('graphwright_event_id', greatest((SELECT coalesce(max(id), 1) FROM events), "
                    "(SELECT coalesce(max(id), 1) FROM llm_calls), (SELECT last_value FROM graphwright_event_id)))")
    return inserted
