"""History in PostgreSQL, read through DuckDB: the same answers as the local file for the same rows,
written by several processes at once, each visitor isolated, nothing acknowledged lost to a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from history import queries as q
from history.pg_store import PgHistoryStore
from history.queries import Filters
from history.sql_box import run_sql
from history.store import HistoryStore
from testkit.postgres import PgServer
from tests.cluster.helpers import GPT, answers, sample_runs
from tests.history.helpers import Call, Step, record_all, run_events

pytestmark = pytest.mark.cluster


@pytest.fixture
def pg_stores(fresh_dsn: str) -> Iterator[list[PgHistoryStore]]:
    """Two writers (think: two workers) and a reader (an app replica) on one database."""
    stores = [PgHistoryStore(fresh_dsn) for _ in range(3)]
    yield stores
    for s in stores:
        s.close()


def test_every_query_answers_the_same_over_postgres_as_over_the_local_file(
    data_dir: Path, pg_stores: list[PgHistoryStore]
) -> None:
    local = HistoryStore.open(data_dir, mlflow=False)
    first, second, reader = pg_stores
    try:
        runs = sample_runs()
        for i, events in enumerate(runs):
            record_all(local, events)
            record_all(first if i % 2 == 0 else second, events)
            if i == 3:  # r4's first segment read before its resume: the copy must pick up the updates
                assert first.flush(10) and second.flush(10)
                assert q.resumable_runs(reader.read_cursor(), "alice")["run_id"].tolist() == ["r4", "r3"]
        assert local.flush(10) and first.flush(10) and second.flush(10)
        expected, got = answers(local.read_cursor()), answers(reader.read_cursor())
        assert got["list_runs/None"]["run_id"].tolist() == expected["list_runs/None"]["run_id"].tolist()
        assert got["steps/r4/alice"]["superseded"].tolist() == [True, False]
        for key, frame in expected.items():
            pd.testing.assert_frame_equal(got[key], frame, obj=key)
    finally:
        local.close()


def test_two_owners_see_only_their_rows_in_the_sql_box(pg_stores: list[PgHistoryStore]) -> None:
    writer, _, reader = pg_stores
    for events in sample_runs():
        record_all(writer, events)
    assert writer.flush(10)
    cur = reader.read_cursor()
    assert run_sql(cur, "SELECT DISTINCT owner FROM llm_calls", "bob").frame["owner"].tolist() == ["bob"]
    alice = run_sql(cur, "SELECT run_id FROM runs ORDER BY run_id", "alice").frame["run_id"].tolist()
    assert alice == ["r1", "r2", "r3", "r4"]
    assert q.kpis(cur, Filters(owner="mallory")).iloc[0].runs == 0


def test_a_postgres_restart_mid_write_loses_no_acknowledged_row(
    postgres_server: PgServer, pg_stores: list[PgHistoryStore]
) -> None:
    writer, _, reader = pg_stores
    runs = [run_events(f"w{i}", steps=[Step("s", 0.1, [Call(GPT, 0.01, 0.1)] * 3)]) for i in range(300)]

    def produce() -> None:  # as the engine does: through the sink, which never raises into the run
        for events in runs:
            for event in events:
                writer.sink(event)
            time.sleep(0.005)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        time.sleep(0.3)
        postgres_server.restart()  # connections are cut; batches in flight fail and are retried
    finally:
        producer.join(60)
    assert writer.flush(60), writer.stats()
    stats = writer.stats()
    assert stats["committed"] == stats["enqueued"] == sum(len(r) for r in runs) and stats["rejected"] == 0
    cur = reader.read_cursor()
    assert cur.execute("SELECT count(*) FROM runs WHERE status = 'finished'").fetchone()[0] == 300
    assert cur.execute("SELECT count(*), count(DISTINCT (run_id, seq)) FROM llm_calls").fetchone() == (900, 900)
    assert q.kpis(cur, Filters(owner="alice")).iloc[0].total_cost_usd == pytest.approx(9.0)


def test_a_connection_cut_while_the_writer_looks_up_its_runs_loses_nothing(
    fresh_dsn: str, pg_stores: list[PgHistoryStore]
) -> None:
    """A failed read of the writer (the run lookup before each batch) is retried like a failed write:
    the batch stays queued, it is not dropped as if it were a conversion bug."""
    import psycopg

    writer, _, reader = pg_stores
    with psycopg.connect(fresh_dsn) as admin, psycopg.connect(fresh_dsn, autocommit=True) as probe:
        admin.execute("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE")  # the lookup waits here...
        for event in run_events("cut", steps=[Step("s", 0.1, [Call(GPT, 0.01, 0.1)])]):
            writer.record(event, wait=False)
        deadline = time.monotonic() + 30
        waiting: list[tuple[int]] = []
        while not waiting and time.monotonic() < deadline:
            waiting = probe.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM runs WHERE%'"
            ).fetchall()
            time.sleep(0.05)
        assert waiting, "the writer never looked its runs up"
        probe.execute("SELECT pg_terminate_backend(%s)", [waiting[0][0]])  # ...and its connection is cut
        time.sleep(0.2)
        admin.rollback()
    assert writer.flush(30), writer.stats()
    assert writer.stats()["error"] is None
    cur = reader.read_cursor()
    assert cur.execute("SELECT status FROM runs WHERE run_id = 'cut'").fetchall() == [("finished",)]
    assert cur.execute("SELECT count(*) FROM llm_calls WHERE run_id = 'cut'").fetchone() == (1,)
