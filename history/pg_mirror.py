"""DuckDB over the PostgreSQL history: an in-memory analytics copy that catches up before each read.

Why not DuckDB's postgres scanner or DuckLake: both are extensions, which cannot be downloaded here
and exist on the package index only for DuckDB 1.5.5, while the project runs DuckDB 2.0 (1.5.5
cannot open a 2.0 history file and rejects migration 2: docs/scaling.md has the figures). So each
reading process keeps its own in-memory DuckDB with the same tables (`history.migrations`) and the
queries run there unchanged. It has one writer, this class: not a multi-writer scheme on a file.

Catching up is snapshot-consistent: in one REPEATABLE READ transaction it reads the snapshot's xmin
and copies the rows whose writing transaction (`gw_xid`, stamped by a trigger) is at or above the
previous xmin — every transaction below that had ended before the previous snapshot, so it was
copied then. Rows come out with PostgreSQL's `COPY ... TO STDOUT (FORMAT csv)` and go in with
DuckDB's own CSV reader, replacing older versions of the same keys (updated runs, superseded rows).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import duckdb

from history.migrations import migrate
from history.pg_schema import KEYS


class PgMirror:
    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._con = duckdb.connect()
        migrate(self._con)
        self._types = {t: [(r[0], r[1]) for r in self._con.execute(f"DESCRIBE {t}").fetchall()] for t in KEYS}
        self._watermark = "0"
        self._lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._dir = Path(tempfile.mkdtemp(prefix="gw-mirror-"))

    def column_types(self, table: str) -> list[tuple[str, str]]:
        return self._types[table]

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor, after catching up with PostgreSQL."""
        self.sync()
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
            with self._lock:
                self._cursors.append(cur)
        return cur

    def sync(self) -> int:
        """Copy what was committed since the last call; returns the number of rows copied."""
        with self._lock:
            files = self._export()
            try:
                return self._load(files)
            finally:
                for path in files.values():
                    path.unlink(missing_ok=True)

    def _export(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        with self._pool.connection() as pg:
            pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                if self._watermark != "0":  # a catch-up reads few rows: by the `gw_xid` index, whatever the
                    pg.execute("SET LOCAL enable_seqscan = off")  # planner's (possibly stale) statistics say
                xmin = pg.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetchone()[0]
                newest = pg.execute("SELECT " + ", ".join(  # one round trip: which tables changed at all
                    f"(SELECT gw_xid FROM {t} ORDER BY gw_xid DESC LIMIT 1)::text" for t in self._types)).fetchone()
                tables = {t for t, last in zip(self._types, newest, strict=True)
                          if last is not None and int(last) >= int(self._watermark)}
                for table, types in self._types.items():
                    if table not in tables:
                        continue
                    path = files[table] = self._dir / f"{table}.csv"
                    cols = ", ".join(name for name, _ in types)
                    with open(path, "wb") as out, pg.cursor().copy(
                        f"COPY (SELECT {cols} FROM {table} WHERE gw_xid >= %s::xid8) TO STDOUT (FORMAT csv)",
                        [self._watermark],
                    ) as copy:
                        for block in copy:
                            out.write(block)
            finally:
                pg.execute("COMMIT")
        self._next_watermark = xmin
        return files

    def _load(self, files: dict[str, Path]) -> int:
        con, copied = self._con, 0
        if not files:  # nothing changed: no DuckDB transaction either
            self._watermark = self._next_watermark
            return 0
        con.execute("BEGIN TRANSACTION")
        try:
            for table, path in files.items():
                if os.path.getsize(path) == 0:
                    continue
                spec = "{" + ", ".join(f"'{n}': '{t}'" for n, t in self._types[table]) + "}"
                con.execute(f"CREATE OR REPLACE TEMP TABLE _new AS SELECT * FROM read_csv(?, columns={spec}, "
                            "header=false, auto_detect=false, allow_quoted_nulls=false, quote='\"', escape='\"')",
                            [str(path)])
                match = " AND ".join(f"{table}.{k} = _new.{k}" for k in KEYS[table])
                con.execute(f"DELETE FROM {table} USING _new WHERE {match}")
                copied += con.execute(f"INSERT INTO {table} SELECT * FROM _new").fetchone()[0]
            con.execute("DROP TABLE IF EXISTS _new")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._watermark = self._next_watermark
        return copied

    def close(self) -> None:
        with self._lock:
            for cur in self._cursors:
                cur.close()
            self._con.close()
        for path in self._dir.glob("*"):
            path.unlink(missing_ok=True)
        self._dir.rmdir()
