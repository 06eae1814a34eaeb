"""Analytics charts stay meaningful with 1, 10 or 10,000 runs: time in hours or days (never a
milliseconds axis), cost from 0 with a note when nothing cost anything, steps under their workflow.

Pure mappers: the frames below have the shape the history queries return (hourly buckets).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pandas as pd
import pytest

from ui import analytics_view as view
from ui.analytics_tab import NO_COST

START = datetime(2026, 11, 23, 9, 20)
SPREAD = {1: timedelta(0), 10: timedelta(hours=3), 10_000: timedelta(days=30)}
HOUR_LABEL = re.compile(r"^[A-Z][a-z]{2} \d{2} \d{2}:00$")
DAY_LABEL = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _calls(runs: int, cost: float = 0.002) -> pd.DataFrame:
    """One model call per run, spread evenly over the time `SPREAD` gives that many runs."""
    step = SPREAD[runs] / max(runs - 1, 1)
    return pd.DataFrame({"ts": [START + i * step for i in range(runs)],
                         "model": ["openai/a" if i % 3 else "openai/b" for i in range(runs)],
                         "tokens_in": 100, "tokens_out": 40, "cost_usd": cost})


def _hourly_cost(calls: pd.DataFrame) -> pd.DataFrame:
    """What `history.queries.cost_over_time(..., "hour")` returns."""
    calls = calls.assign(bucket=calls["ts"].dt.floor("h"))
    return calls.groupby(["bucket", "model"], as_index=False).agg(cost_usd=("cost_usd", "sum"),
                                                                  calls=("ts", "count"))


def _hourly_tokens(calls: pd.DataFrame) -> pd.DataFrame:
    """What `history.queries.tokens_over_time(..., "hour")` returns."""
    calls = calls.assign(bucket=calls["ts"].dt.floor("h"))
    return calls.groupby("bucket", as_index=False)[["tokens_in", "tokens_out"]].sum()


@pytest.mark.parametrize(("runs", "bucket", "labels", "buckets"), [
    (1, "hour", HOUR_LABEL, 1),
    (10, "hour", HOUR_LABEL, 4),  # 09:00 to 12:00, every hour shown
    (10_000, "day", DAY_LABEL, 31),
])
def test_time_is_bucketed_by_hour_or_day_for_the_range_shown(runs: int, bucket: str, labels: re.Pattern[str],
                                                             buckets: int) -> None:
    calls = _calls(runs)
    tokens = view.tokens_chart(_hourly_tokens(calls))
    cost = view.cost_chart(_hourly_cost(calls))
    for frame in (tokens, cost):
        assert frame.attrs["bucket"] == bucket
        assert frame["bucket"].nunique() == buckets
        assert all(labels.match(label) for label in frame["bucket"]), frame["bucket"].unique()
    assert tokens["tokens"].sum() == runs * 140
    assert cost["cost_usd"].sum() == pytest.approx(runs * 0.002)

    fig = view.figure(tokens, "bars", "bucket", "tokens", "kind", "Tokens by {bucket}")
    assert fig.layout.xaxis.type == "category", "a date axis shows milliseconds for a single point"
    assert fig.layout.title.text == f"Tokens by {bucket}"
    assert {t.name for t in fig.data} == {"tokens_in", "tokens_out"}


def test_hours_without_runs_show_as_zero_not_as_missing() -> None:
    calls = pd.concat([_calls(1), _calls(1).assign(ts=START + timedelta(hours=5))])
    tokens = view.tokens_chart(_hourly_tokens(calls))
    assert tokens.groupby("bucket", sort=False)["tokens"].sum().tolist() == [140, 0, 0, 0, 0, 140]


@pytest.mark.parametrize("runs", [1, 10, 10_000])
def test_cost_starts_at_zero(runs: int) -> None:
    fig = view.figure(view.cost_chart(_hourly_cost(_calls(runs))), "stack", "bucket", "cost_usd", "model",
                      "Cost by {bucket}", zero_note=NO_COST)
    assert fig.layout.yaxis.rangemode == "tozero" and fig.layout.barmode == "stack"
    assert not fig.layout.annotations


@pytest.mark.parametrize("runs", [1, 10, 10_000])
def test_all_zero_cost_says_no_cost_yet_on_a_zero_based_axis(runs: int) -> None:
    fig = view.figure(view.cost_chart(_hourly_cost(_calls(runs, cost=0.0))), "stack", "bucket", "cost_usd",
                      "model", "Cost by {bucket}", zero_note=NO_COST)
    assert fig.layout.annotations[0].text.startswith("No cost yet")
    assert tuple(fig.layout.yaxis.range) == (0, 1) and not fig.data


def _steps(workflows: int, steps_each: int) -> pd.DataFrame:
    """What `history.queries.latency_by_step` returns: one row per (workflow, step)."""
    rows = [{"workflow": f"wf-{w}", "step_id": f"step_{s}" if s else "write", "step_type": "agent",
             "runs": 3, "p50_s": 0.1 * (w + s + 1), "p95_s": 0.2 * (w + s + 1), "cost_usd": 0.0}
            for w in range(workflows) for s in range(steps_each)]
    return pd.DataFrame(rows)


def test_step_latency_is_grouped_by_workflow() -> None:
    frame = view.latency_chart(_steps(2, 1), "step_id")  # both workflows have a step called `write`
    assert frame[["workflow", "step_id"]].drop_duplicates().values.tolist() == [["wf-0", "write"],
                                                                                 ["wf-1", "write"]]
    fig = view.figure(frame, "bars", "step_id", "seconds", "stat", "Step latency")
    assert fig.layout.xaxis.type == "multicategory"
    workflows, steps = fig.data[0].x
    assert list(workflows) == ["wf-0", "wf-1"] and list(steps) == ["write", "write"]


def test_thousands_of_steps_keep_the_slowest_twenty() -> None:
    frame = view.latency_chart(_steps(500, 20), "step_id")
    shown = frame[["workflow", "step_id"]].drop_duplicates()
    assert len(shown) == 20
    assert frame["seconds"].min() >= _steps(500, 20)["p50_s"].nlargest(20).min()
    assert list(shown["workflow"]) == sorted(shown["workflow"]), "bars of one workflow stand together"
