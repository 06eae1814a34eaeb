"""A data directory written by an older graphwright opens with the current code."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from history import queries as q
from history.errors import MigrationError
from history.migrations import CURRENT_VERSION, migrate, schema_version
from history.queries import Filters
from history.store import DB_NAME, HistoryStore


def _v1_file(path: Path) -> None:
    """What version 1 wrote: no owner on calls, no segments, no trace ids."""
    con = duckdb.connect(str(path))
    assert migrate(con, upto=1) == 1
    con.execute(
        "INSERT INTO runs (run_id, owner, workflow, status, started_at, duration_s, cost_usd)"
        " VALUES ('old', 'alice', 'triage', 'finished', TIMESTAMP '2026-01-02 03:04:05', 2.5, 0.4)"
    )
    con.execute(
        "INSERT INTO llm_calls VALUES ('old', 1, TIMESTAMP '2026-01-02 03:04:06', 'a', 'm', 'openai', 1,"
        " 10, 5, 0.4, false, false, 1.5, 0.2, NULL)"
    )
    con.close()


def test_a_version_1_file_is_migrated_and_fully_usable(data_dir: Path) -> None:
    _v1_file(data_dir / DB_NAME)
    with HistoryStore.open(data_dir) as store:
        cur = store.read_cursor()
        assert schema_version(cur) == CURRENT_VERSION > 1
        run = q.list_runs(cur, Filters(owner="alice")).iloc[0]
        assert (run.run_id, run.segments, run.mlflow_trace_id) == ("old", 1, None)
        by_day = q.cost_by_day(cur, Filters(owner="alice"))  # owner was copied onto the old calls
        assert by_day["cost_usd"].tolist() == [pytest.approx(0.4)]
    with HistoryStore.open(data_dir) as store:  # reopening does not migrate twice
        assert store.read_cursor().execute("SELECT count(*) FROM schema_version").fetchone() == (CURRENT_VERSION,)


def test_a_file_from_a_newer_version_is_refused_clearly(data_dir: Path) -> None:
    con = duckdb.connect(str(data_dir / DB_NAME))
    migrate(con)
    con.execute("INSERT INTO schema_version VALUES (99)")
    con.close()
    with pytest.raises(MigrationError, match="schema version 99, newer"):
        HistoryStore.open(data_dir)
    with pytest.raises(MigrationError):  # again, not HistoryLocked: the failed open released its lock
        HistoryStore.open(data_dir)


def test_version_2_model_call_events_move_to_llm_calls_and_still_replay_in_order(data_dir: Path) -> None:
    con = duckdb.connect(str(data_dir / DB_NAME))
    migrate(con, upto=2)
    con.execute(
        "INSERT INTO runs (run_id, owner, workflow, status, started_at)"
        " VALUES ('r', 'alice', 'w', 'finished', TIMESTAMP '2026-01-02 03:04:05')"
    )
    for event_id, seq, kind in [(1, 0, "run_started"), (2, 1, "llm_call"), (3, 2, "run_finished")]:
        con.execute("INSERT INTO events VALUES (?, 'r', ?, TIMESTAMP '2026-01-02 03:04:05', ?, NULL, ?, 0)",
                    [event_id, seq, kind, f'{{"run_id": "r", "seq": {seq}, "type": "{kind}"}}'])  # fmt: skip
    con.execute(
        "INSERT INTO llm_calls (run_id, seq, ts, model, provider, attempt, tokens_in, tokens_out, cost_usd,"
        " unpriced, synthetic, latency_s, owner, workflow) VALUES ('r', 1, TIMESTAMP '2026-01-02 03:04:05',"
        " 'm', 'openai', 1, 3, 4, 0.1, false, false, 0.5, 'alice', 'w')"
    )
    con.close()
    with HistoryStore.open(data_dir) as store:
        cur = store.read_cursor()
        assert cur.execute("SELECT count(*) FROM events WHERE type = 'llm_call'").fetchone() == (0,)
        assert cur.execute("SELECT id FROM llm_calls").fetchall() == [(2,)]
        frame = q.run_events(cur, "r", "alice")
        assert frame["type"].tolist() == ["run_started", "llm_call", "run_finished"]
