"""The history's tables in PostgreSQL (cluster mode): the DuckDB schema, plus what many writers need.

One source of truth: the tables and columns are read from the DuckDB migrations (`history.migrations`,
run on an in-memory database) and created or extended here additively (`CREATE TABLE IF NOT EXISTS`,
`ADD COLUMN IF NOT EXISTS`), so a migration appended there reaches PostgreSQL on the next start.
What only a shared database needs comes from the ordered `PG_MIGRATIONS` below:
- a key per row (`KEYS`): inserts are `ON CONFLICT DO NOTHING`, so a batch written again after a
  lost connection, or an event delivered twice, is counted once (the ledger's exactly-once);
- `gw_xid`, the id of the transaction that last wrote the row (a default on insert, a trigger on
  update: a row trigger on every insert cost a third of the ingest time), so analytics
  readers catch up with "rows written since my last snapshot" (`history.pg_mirror`);
- `graphwright_event_id`, the sequence that orders replay across writers (`events.id`, `llm_calls.id`).
"""

from __future__ import annotations

from types import MappingProxyType

import duckdb

from history.migrations import migrate

KEYS = MappingProxyType({
    "runs": ("run_id",),
    "steps": ("run_id", "seq"),
    "llm_calls": ("run_id", "seq"),
    "events": ("run_id", "seq"),
    "quota_ledger": ("run_id", "owner"),
    "artifacts": ("run_id", "name"),
})
TABLES = tuple(KEYS)
_PG_TYPES = MappingProxyType({"VARCHAR": "text", "TIMESTAMP": "timestamp", "DOUBLE": "double precision",
                              "BIGINT": "bigint", "INTEGER": "integer", "BOOLEAN": "boolean"})
_LOCK = 7_300_010

_STAMP = """
CREATE OR REPLACE FUNCTION graphwright_stamp_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.gw_xid := pg_current_xact_id(); RETURN NEW; END $$;
"""


def _v1() -> str:
    parts = [_STAMP, "CREATE SEQUENCE IF NOT EXISTS graphwright_event_id;"]
    for table, key in KEYS.items():
        parts.append(f"""
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS gw_xid xid8 DEFAULT pg_current_xact_id();
CREATE UNIQUE INDEX IF NOT EXISTS {table}_key ON {table} ({', '.join(key)});
CREATE INDEX IF NOT EXISTS {table}_gw_xid ON {table} (gw_xid);
CREATE OR REPLACE TRIGGER {table}_stamp BEFORE UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION graphwright_stamp_xid();""")
    parts.append("CREATE INDEX IF NOT EXISTS llm_calls_owner_ts ON llm_calls (owner, ts);")
    return "\n".join(parts)


PG_MIGRATIONS: tuple[str, ...] = (_v1(),)


def duckdb_columns() -> dict[str, list[tuple[str, str, bool, str | None]]]:
    """`{table: [(column, DuckDB type, nullable, default)]}` of the current DuckDB schema."""
    con = duckdb.connect()
    try:
        migrate(con)
        return {t: [(r[0], r[1], r[2] == "YES", r[4]) for r in con.execute(f"DESCRIBE {t}").fetchall()]
                for t in TABLES}
    finally:
        con.close()


def _table_sql(table: str, columns: list[tuple[str, str, bool, str | None]]) -> str:
    defs = []
    for name, kind, nullable, default in columns:
        spec = f"{name} {_PG_TYPES[kind]}"
        if default is not None:
            spec += f" DEFAULT {default}"
        if not nullable:
            spec += " NOT NULL"
        defs.append(spec)
    adds = "\n".join(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {_PG_TYPES[kind]}"
        + (f" DEFAULT {default}" + ("" if nullable else " NOT NULL") if default is not None else "") + ";"
        for name, kind, nullable, default in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(defs)});\n{adds}"


def migrate_pg(dsn: str) -> int:
    """Create or extend the history tables in `dsn`'s database; returns the PostgreSQL-side version."""
    import psycopg

    with psycopg.connect(dsn) as con, con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        for table, columns in duckdb_columns().items():
            con.execute(_table_sql(table, columns))
        con.execute("CREATE TABLE IF NOT EXISTS graphwright_history_version (version integer NOT NULL)")
        row = con.execute("SELECT max(version) FROM graphwright_history_version").fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        for number in range(version + 1, len(PG_MIGRATIONS) + 1):
            con.execute(PG_MIGRATIONS[number - 1])
            con.execute("INSERT INTO graphwright_history_version VALUES (%s)", [number])
        return max(version, len(PG_MIGRATIONS))
