"""Export runs and model calls to CSV or Parquet, one user's rows at a time.

DuckDB writes both formats itself (no pyarrow needed). The same `Filters` as the dashboards pick
the rows, so an export is exactly what the user was looking at; superseded attempts are left out
of the calls file unless `include_superseded=True`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from history.queries import Cursor, Filters, _where

Format = Literal["csv", "parquet"]

_RUNS_SQL = """SELECT run_id, owner, workflow, status, started_at, finished_at, duration_s, tokens_in,
    tokens_out, cost_usd, reason, message, failed_step, default_model, segments, mlflow_trace_id
    FROM runs t {where} ORDER BY started_at, run_id"""
_CALLS_SQL = """SELECT run_id, owner, workflow, segment, seq, ts, step_id, model, provider, attempt,
    tokens_in, tokens_out, cost_usd, unpriced, synthetic, latency_s, ttft_s, error, superseded
    FROM llm_calls t {where} ORDER BY ts, run_id, seq"""


def _write(cur: Cursor, sql: str, params: list[object], dest: Path, fmt: Format) -> Path:
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"export format must be 'csv' or 'parquet', not {fmt!r}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Its own cursor: DuckDB 2.0 refuses `sql()` on a cursor whose last `execute()` result was not
    # read to the end (any earlier `fetchone()` on this thread's shared cursor), and says "in use".
    with cur.cursor() as own:
        relation = own.sql(sql, params=params)
        if fmt == "csv":
            relation.write_csv(str(dest), header=True)
        else:
            relation.write_parquet(str(dest))
    return dest


def export_runs(cur: Cursor, dest: str | Path, filters: Filters, fmt: Format = "csv") -> Path:
    where, params = _where(filters, "runs")
    return _write(cur, _RUNS_SQL.format(where=where), params, Path(dest), fmt)


def export_calls(
    cur: Cursor, dest: str | Path, filters: Filters, fmt: Format = "csv", *, include_superseded: bool = False
) -> Path:
    where, params = _where(filters, "calls", superseded=include_superseded)
    return _write(cur, _CALLS_SQL.format(where=where), params, Path(dest), fmt)


def export_all(cur: Cursor, directory: str | Path, filters: Filters, fmt: Format = "csv") -> list[Path]:
    """`runs.<fmt>` and `llm_calls.<fmt>` in `directory` (the UI offers both as downloads)."""
    directory = Path(directory)
    return [
        export_runs(cur, directory / f"runs.{fmt}", filters, fmt),
        export_calls(cur, directory / f"llm_calls.{fmt}", filters, fmt),
    ]
