"""The power-user SQL box: one SELECT, own rows only, bounded rows and time."""

from __future__ import annotations

import pandas as pd
import pytest

from history.errors import SqlBoxError, SqlBoxTimeout
from history.sql_box import run_sql
from history.store import HistoryStore


def test_a_select_sees_only_the_users_rows(box_store: HistoryStore) -> None:
    cur = box_store.read_cursor()
    result = run_sql(cur, "SELECT run_id, cost_usd FROM runs ORDER BY run_id", "alice")
    assert result.frame["run_id"].tolist() == ["a1"] and not result.truncated
    sneaky = "SELECT count(*) AS n FROM main.llm_calls WHERE owner = 'bob' OR true"
    assert run_sql(cur, sneaky, "alice").frame["n"].tolist() == [1]
    joined = "SELECT count(*) AS n FROM events e JOIN runs r USING (run_id)"
    assert run_sql(cur, joined, "alice").frame["n"].tolist() == [4]  # model calls are in llm_calls
    assert run_sql(cur, "SELECT count(*) AS n FROM runs", None).frame["n"].tolist() == [2]  # admin
    using = "SELECT count(*) AS n FROM runs JOIN llm_calls USING (run_id)"  # not bindable without a catalog
    assert run_sql(cur, using, "alice").frame["n"].tolist() == [1]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM runs", "only SELECT"),
        ("DROP TABLE runs", "only SELECT"),
        ("CREATE TABLE x AS SELECT 1", "only SELECT"),
        ("SELECT 1; DELETE FROM runs", "exactly one"),
        ("ATTACH 'history.duckdb' AS h", "only SELECT"),
        ("COPY runs TO '/tmp/leak.csv'", "only SELECT"),
        ("SET enable_external_access = true", "only SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"),
        ("SELECT * FROM query('DROP TABLE runs')", "SELECT"),
        ("SELEC 1", "parse"),
    ],
)
def test_writes_ddl_files_and_several_statements_are_refused(box_store: HistoryStore, sql: str, message: str) -> None:
    with pytest.raises(SqlBoxError, match=message):
        run_sql(box_store.read_cursor(), sql, "alice")
    assert run_sql(box_store.read_cursor(), "SELECT count(*) AS n FROM runs", None).frame["n"][0] == 2


def test_python_variables_cannot_be_read_by_name(box_store: HistoryStore) -> None:
    other_users_rows = pd.DataFrame({"secret": ["bob's data"]})  # noqa: F841 - what a query might try to scan
    with pytest.raises(SqlBoxError, match="does not exist"):
        run_sql(box_store.read_cursor(), "SELECT * FROM other_users_rows", "alice")


def test_row_limit_and_timeout(box_store: HistoryStore) -> None:
    cur = box_store.read_cursor()
    result = run_sql(cur, "SELECT * FROM range(10000)", "alice", row_limit=25)
    assert len(result.frame) == 25 and result.truncated
    with pytest.raises(SqlBoxTimeout, match="longer than 0.3s"):
        run_sql(cur, "SELECT count(*) FROM range(1000000000000) a", "alice", timeout_s=0.3)


def test_the_box_answers_in_a_process_holding_over_a_thousand_descriptors(box_store: HistoryStore) -> None:
    """A long-lived app (or test process) can hold descriptors numbered past 1024, where select() fails."""
    import os

    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        assert run_sql(box_store.read_cursor(), "SELECT count(*) AS n FROM runs", "alice").frame["n"].tolist() == [1]
    finally:
        for fd in held:
            os.close(fd)
