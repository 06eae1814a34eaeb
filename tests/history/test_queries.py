"""Every dashboard query on runs written through the store, with numbers worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from history import queries as q
from history.queries import Filters
from history.store import HistoryStore
from orchestrator import events as ev
from tests.history.helpers import DAY, T0, Call, Step, record_all, run_events

GPT, CLAUDE = "openai/gpt-4o-mini", "anthropic/claude-haiku"


@pytest.fixture
def loaded(store: HistoryStore) -> HistoryStore:
    record_all(store, run_events("r1", duration=5.0, steps=[
        Step("plan", 2.0, [Call(GPT, 0.10, 1.0, ttft=0.2)]),
        Step("write", 3.0, [Call(CLAUDE, 0.20, 2.0, ttft=0.4)]),
    ]))  # fmt: skip
    record_all(store, run_events("r2", start=T0 + DAY, end="failed", reason="timeout", steps=[
        Step("plan", 1.0, [Call(GPT, 0.05, 0.5, error="timed out")]),
    ]))  # fmt: skip
    record_all(store, run_events("r3", workflow="summarise", start=T0 + DAY, duration=2.0, steps=[
        Step("plan", 0.5, [Call(GPT, 0.01, 0.1)]),
    ]))  # fmt: skip
    record_all(store, run_events("b1", owner="bob", steps=[Step("plan", 9.0, [Call(CLAUDE, 1.0, 9.0)])]))
    assert store.flush(10)
    return store


def test_kpis_count_only_the_owners_runs(loaded: HistoryStore) -> None:
    row = q.kpis(loaded.read_cursor(), Filters(owner="alice")).iloc[0]
    assert (row.runs, row.finished, row.failed) == (3, 2, 1)
    assert row.success_rate == pytest.approx(2 / 3)
    assert row.total_cost_usd == pytest.approx(0.36)
    assert row.avg_cost_usd == pytest.approx(0.12)
    assert row.tokens_in == 400 and row.tokens_out == 200
    everyone = q.kpis(loaded.read_cursor(), Filters(owner=None)).iloc[0]
    assert everyone.runs == 4 and everyone.total_cost_usd == pytest.approx(1.36)


def test_latency_percentiles_on_known_durations(store: HistoryStore) -> None:
    for i in range(1, 21):
        record_all(store, run_events(f"c{i}", owner="carol", duration=float(i)))
    store.flush(10)
    row = q.kpis(store.read_cursor(), Filters(owner="carol")).iloc[0]
    assert row.p50_latency_s == pytest.approx(10.5)
    assert row.p95_latency_s == pytest.approx(19.05)  # linear interpolation between 19 and 20


def test_cost_by_day_is_stacked_by_model(loaded: HistoryStore) -> None:
    df = q.cost_by_day(loaded.read_cursor(), Filters(owner="alice"))
    got = {(str(r.day)[:10], r.model): round(r.cost_usd, 4) for r in df.itertuples()}
    assert got == {("2026-09-21", GPT): 0.10, ("2026-09-21", CLAUDE): 0.20, ("2026-09-22", GPT): 0.06}


def test_cost_and_latency_by_workflow(loaded: HistoryStore) -> None:
    df = q.cost_latency_by_workflow(loaded.read_cursor(), Filters(owner="alice")).set_index("workflow")
    assert df.loc["triage", "runs"] == 2 and df.loc["triage", "total_cost_usd"] == pytest.approx(0.35)
    assert df.loc["summarise", "p95_latency_s"] == pytest.approx(2.0)


def test_latency_per_step_and_per_model(loaded: HistoryStore) -> None:
    cur = loaded.read_cursor()
    steps = q.latency_by_step(cur, Filters(owner="alice", workflow="triage")).set_index("step_id")
    assert steps.loc["plan", "runs"] == 2 and steps.loc["plan", "p50_s"] == pytest.approx(1.5)
    assert steps.loc["write", "p95_s"] == pytest.approx(3.0)
    models = q.latency_by_model(cur, Filters(owner="alice")).set_index("model")
    assert models.loc[GPT, "calls"] == 3 and models.loc[GPT, "error_rate"] == pytest.approx(1 / 3)
    assert models.loc[GPT, "p50_s"] == pytest.approx(0.5) and models.loc[GPT, "avg_ttft_s"] == pytest.approx(0.2)
    ttft = q.ttft_by_model(cur, Filters(owner="alice")).set_index("model")
    assert ttft.loc[GPT, "streamed"] == 1 and ttft.loc[CLAUDE, "p95_ttft_s"] == pytest.approx(0.4)


def test_tokens_over_time_by_day_and_hour(loaded: HistoryStore) -> None:
    cur = loaded.read_cursor()
    days = q.tokens_over_time(cur, Filters(owner="alice"))
    assert days["tokens_in"].tolist() == [200, 200] and days["tokens_out"].tolist() == [100, 100]
    assert len(q.tokens_over_time(cur, Filters(owner="alice"), bucket="hour")) == 2
    with pytest.raises(ValueError, match="bucket"):
        q.tokens_over_time(cur, Filters(owner="alice"), bucket="minute; DROP TABLE runs")  # type: ignore[arg-type]


def test_failures_and_most_expensive_runs(loaded: HistoryStore) -> None:
    cur = loaded.read_cursor()
    failures = q.failures_by_reason(cur, Filters(owner="alice"))
    assert failures[["reason", "runs"]].values.tolist() == [["timeout", 1]]
    assert q.most_expensive_runs(cur, Filters(owner="alice"), limit=2)["run_id"].tolist() == ["r1", "r2"]
    assert q.most_expensive_runs(cur, Filters(owner=None), limit=1)["run_id"].tolist() == ["b1"]


def test_filters_by_date_workflow_model_and_status(loaded: HistoryStore) -> None:
    cur = loaded.read_cursor()

    def ids(**kw: object) -> list[str]:
        return sorted(q.list_runs(cur, Filters(owner="alice", **kw))["run_id"])  # type: ignore[arg-type]

    assert ids(date_from=date(2026, 9, 22)) == ["r2", "r3"]
    assert ids(date_to=date(2026, 9, 21)) == ["r1"]  # a date includes its whole day
    assert ids(workflow="summarise") == ["r3"]
    assert ids(model=CLAUDE) == ["r1"]
    assert ids(status="failed") == ["r2"]
    assert q.cost_by_day(cur, Filters(owner="alice", status="failed"))["cost_usd"].sum() == pytest.approx(0.05)
    assert q.workflows(cur, "alice") == ["summarise", "triage"] and q.models(cur, "bob") == [CLAUDE]


def test_owner_values_are_parameters_not_sql(loaded: HistoryStore) -> None:
    sneaky = Filters(owner="alice' OR '1'='1")
    assert q.kpis(loaded.read_cursor(), sneaky).iloc[0].runs == 0
    assert q.list_runs(loaded.read_cursor(), sneaky).empty


def test_replay_returns_the_events_in_order_for_the_owner_only(loaded: HistoryStore) -> None:
    cur = loaded.read_cursor()
    events = q.replay(cur, "r1", "alice")
    assert [e.type for e in events] == [
        "run_started", "step_started", "llm_call", "step_finished",
        "step_started", "llm_call", "step_finished", "run_finished",
    ]  # fmt: skip
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    sent = run_events("r1", duration=5.0, steps=[
        Step("plan", 2.0, [Call(GPT, 0.10, 1.0, ttft=0.2)]), Step("write", 3.0, [Call(CLAUDE, 0.20, 2.0, ttft=0.4)]),
    ])  # fmt: skip
    assert [e.model_dump(exclude={"ts"}) for e in events] == [e.model_dump(exclude={"ts"}) for e in sent]
    assert [e.ts for e in events] == pytest.approx([e.ts for e in sent], abs=1e-5)  # stored to the microsecond
    assert q.replay(cur, "r1", "bob") == []
    assert q.run_calls(cur, "r1", "bob").empty and len(q.run_calls(cur, "r1", "alice")) == 2
    assert len(q.run_steps(cur, "r1", None)) == 2


def test_a_run_without_steps_keeps_the_totals_it_reported(store: HistoryStore) -> None:
    store.record(ev.RunStarted(run_id="x", workflow="w", owner="alice"))
    store.record(ev.RunFinished(run_id="x", seq=1, tokens_in=7, tokens_out=3, cost_usd=0.5, duration_s=1))
    store.flush(10)
    row = q.list_runs(store.read_cursor(), Filters(owner="alice")).iloc[0]
    assert (row.tokens_in, row.tokens_out, row.cost_usd) == (7, 3, 0.5)


def test_cost_over_time_by_hour_and_model(loaded: HistoryStore) -> None:
    cur = loaded.read_cursor()
    hours = q.cost_over_time(cur, Filters(owner="alice"))
    assert hours["cost_usd"].sum() == pytest.approx(q.cost_by_day(cur, Filters(owner="alice"))["cost_usd"].sum())
    assert {"bucket", "model", "cost_usd", "calls"} <= set(hours.columns)
    with pytest.raises(ValueError, match="bucket"):
        q.cost_over_time(cur, Filters(owner="alice"), bucket="week")  # type: ignore[arg-type]
