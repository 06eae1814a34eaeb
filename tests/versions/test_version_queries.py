"""Analytics by config version: filter and group by it, compare two versions over the same period
(cost, tokens, latency p50/p95, failure rate, estimate vs actual, check pass rate), per owner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from history import queries as q
from history import versions as hv
from history.queries import Filters
from history.store import HistoryStore
from orchestrator import events as ev
from tests.history.helpers import DAY, T0, Call, Step, record_all, run_events

V1, V2 = "a" * 64, "b" * 64


def _run(store: HistoryStore, run_id: str, version: str, cost: float, *, owner: str = "alice",
         end: str = "finished", duration: float = 1.0, start: float = T0, estimate: float = 0.01) -> None:
    events = run_events(run_id, owner=owner, end=end, duration=duration, start=start,
                        steps=[Step("s", duration, [Call("openai/gpt-4o-mini", cost, duration, 1000, 500)])])
    events[0] = events[0].model_copy(update={"config_hash": version, "version": ev.RunVersion(
        original=f"# {version[:4]}\n", canonical=f"name: {version[:4]}\n", source="cli",
        estimate_usd=estimate, estimate_worst_usd=estimate * 2, estimate_tokens=1200, estimate_worst_tokens=2400)})
    record_all(store, events)


@pytest.fixture
def store(data_dir: Path) -> Iterator[HistoryStore]:
    s = HistoryStore.open(data_dir, mlflow=False)
    for i, (cost, duration) in enumerate([(0.01, 1.0), (0.02, 2.0), (0.03, 3.0)]):
        _run(s, f"one{i}", V1, cost, duration=duration)
    _run(s, "one-failed", V1, 0.0, end="failed")
    for i, cost in enumerate([0.001, 0.003]):
        _run(s, f"two{i}", V2, cost, start=T0 + DAY, estimate=0.002)
    _run(s, "bob1", V1, 9.0, owner="bob")
    s.flush(10)
    yield s
    s.close()


def test_runs_filter_by_version_and_show_it(store: HistoryStore) -> None:
    cur = store.read_cursor()
    runs = q.list_runs(cur, Filters(owner="alice", version=V2))
    assert sorted(runs["run_id"]) == ["two0", "two1"]
    assert set(runs["config_hash"]) == {V2} and runs["version_first_seen"].notna().all()
    assert q.kpis(cur, Filters(owner="alice", version=V1)).iloc[0].runs == 4
    assert q.cost_by_day(cur, Filters(owner="alice", version=V2))["calls"].sum() == 2


def test_two_versions_side_by_side(store: HistoryStore) -> None:
    both = hv.compare(store.read_cursor(), Filters(owner="alice"), V1, V2)
    one, two = both.iloc[0], both.iloc[1]
    assert (one.version, one.runs, two.version, two.runs) == (V1, 4, V2, 2)
    assert one.p50_latency_s == pytest.approx(2.0) and one.p95_latency_s == pytest.approx(2.9)
    assert one.failure_rate == pytest.approx(0.25) and two.failure_rate == 0
    assert two.avg_cost_usd == pytest.approx(0.002) and one.avg_tokens == 1500
    assert one.avg_estimate_usd == pytest.approx(0.01) and one.avg_actual_usd == pytest.approx(0.02)
    assert one.above_worst_case == 1  # the $0.03 run cost more than the $0.02 worst case
    assert one.check_pass_rate is None  # no checks recorded in this history


def test_the_same_period_applies_to_both_sides(store: HistoryStore) -> None:
    first_day = Filters(owner="alice", date_to=date(2026, 9, 21))  # the day of T0
    both = hv.compare(store.read_cursor(), first_day, V1, V2)
    assert both.iloc[0].runs == 4 and both.iloc[1].isna()["runs"]  # version 2 ran only the next day


def test_versions_are_per_owner(store: HistoryStore) -> None:
    cur = store.read_cursor()
    assert hv.versions(cur, "alice")["version"].tolist() == [V2, V1]
    assert hv.versions(cur, "bob")["version"].tolist() == [V1]
    assert hv.versions(cur, "carol").empty
    assert hv.by_version(cur, Filters(owner="bob"))["total_cost_usd"].tolist() == [9.0]
    assert hv.version_text(cur, "alice", V1[:8]).canonical == "name: aaaa\n"
    assert hv.version_text(cur, "carol", V1[:8]) is None
    assert hv.compare(cur, Filters(owner="carol"), V1, V2)["runs"].isna().all()


def test_check_pass_rate_appears_when_checks_are_recorded(store: HistoryStore) -> None:
    cur = store.read_cursor()
    # alice: case `a` passed (two attempts, one failed: the case still passed its threshold), case `b`
    # failed; bob's failed case is not hers.
    rows = [("alice", "a", 1, False, True), ("alice", "a", 2, True, True), ("alice", "b", 1, False, False),
            ("bob", "a", 1, False, False)]
    for owner, case, attempt, passed, case_passed in rows:
        cur.execute("INSERT INTO check_results (check_run_id, ts, owner, workflow, config_hash, model, case_name, "
                    "attempt, run_id, status, passed, case_passed, cost_usd, tokens, latency_s, judge_cost_usd, "
                    "judge_tokens) VALUES ('c1', '2026-09-21 15:00', ?, 'w', ?, 'm', ?, ?, 'r', 'finished', ?, ?, "
                    "0, 0, 0, 0, 0)", [owner, V1, case, attempt, passed, case_passed])
    both = hv.compare(cur, Filters(owner="alice"), V1, V2)
    assert both.iloc[0].check_pass_rate == 0.5 and both.isna().iloc[1]["check_pass_rate"]


def test_the_sql_box_sees_only_the_users_versions(store: HistoryStore) -> None:
    from history.sql_box import run_sql

    sql = ("SELECT v.hash, count(*) AS runs FROM config_versions v JOIN runs r ON r.config_hash = v.hash "
           "GROUP BY v.hash ORDER BY v.hash")
    assert run_sql(store.read_cursor(), sql, "bob").frame.values.tolist() == [[V1, 1]]
    assert run_sql(store.read_cursor(), "SELECT count(*) AS n FROM config_versions", "alice").frame["n"][0] == 2
