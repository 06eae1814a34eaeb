"""Runs and calls export to CSV and Parquet, one owner's rows only."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from history.export import export_all, export_calls, export_runs
from history.queries import Filters
from history.store import HistoryStore
from tests.history.helpers import Call, Step, record_all, run_events


@pytest.fixture
def two_owners(store: HistoryStore) -> HistoryStore:
    record_all(store, run_events("a1", steps=[Step("s", 1.0, [Call("m1", 0.1, 1.0), Call("m2", 0.2, 1.0)])]))
    record_all(store, run_events("b1", owner="bob", steps=[Step("s", 1.0, [Call("m1", 5.0, 1.0)])]))
    store.flush(10)
    return store


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_readable_files_with_the_owners_rows(two_owners: HistoryStore, tmp_path: Path, fmt: str) -> None:
    cur = two_owners.read_cursor()
    runs_file, calls_file = export_all(cur, tmp_path / "out", Filters(owner="alice"), fmt)  # type: ignore[arg-type]
    assert runs_file.name == f"runs.{fmt}" and calls_file.name == f"llm_calls.{fmt}"
    read = pd.read_csv if fmt == "csv" else (lambda p: duckdb.sql(f"SELECT * FROM '{p}'").df())
    runs, calls = read(runs_file), read(calls_file)
    assert runs["run_id"].tolist() == ["a1"] and runs["cost_usd"].tolist() == [pytest.approx(0.3)]
    assert sorted(calls["model"]) == ["m1", "m2"] and set(calls["owner"]) == {"alice"}


def test_export_uses_the_dashboard_filters(two_owners: HistoryStore, tmp_path: Path) -> None:
    cur = two_owners.read_cursor()
    path = export_calls(cur, tmp_path / "m1.csv", Filters(owner=None, model="m1"))
    assert sorted(pd.read_csv(path)["run_id"]) == ["a1", "b1"]
    empty = export_runs(cur, tmp_path / "none.parquet", Filters(owner="nobody"), "parquet")
    assert duckdb.sql(f"SELECT count(*) FROM '{empty}'").fetchall() == [(0,)]
    with pytest.raises(ValueError, match="csv' or 'parquet"):
        export_runs(cur, tmp_path / "x.xlsx", Filters(owner="alice"), "xlsx")  # type: ignore[arg-type]


def test_an_earlier_query_left_half_read_on_the_same_cursor_does_not_block_an_export(
        two_owners: HistoryStore, tmp_path: Path) -> None:
    """DuckDB 2.0 calls the cursor "in use" after a `fetchone()`; the export must still work."""
    cur = two_owners.read_cursor()
    assert cur.execute("SELECT run_id FROM runs ORDER BY run_id").fetchone() == ("a1",)
    path = export_runs(cur, tmp_path / "runs.csv", Filters(owner="alice"))
    assert pd.read_csv(path)["run_id"].tolist() == ["a1"]
