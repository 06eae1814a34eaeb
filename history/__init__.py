"""Run history: every run's record in one DuckDB file under the data directory.

    store.py        HistoryStore: the lock, the file, `record`/`sink`, `flush`, `read_cursor`
    queue_writer.py the background writer thread every store shares (bounded queue, batches, retries)
    writer.py       its DuckDB side
    spool.py        the inbox, writing side: a CLI run's events in a SQLite spool (no DuckDB loaded)
    inbox.py        the inbox, reading side: spools into the DuckDB file, exactly once
    rows.py         events -> table rows; resume bookkeeping (segments, superseded attempts)
    columns.py      column-wise bulk inserts
    migrations.py   the versioned schema
    queries.py      the dashboards: pure (cursor, Filters) -> DataFrame functions, and replay
    export.py       CSV / Parquet export
    sql_box.py      the read-only power-user SQL box
    mlflow_sink.py  opt-in MLflow tracing
    scrub.py        secret redaction before anything is stored
    errors.py       the exception tree

Import the submodules you need; this package imports nothing heavy on its own.
"""
