"""Opt-in MLflow tracing: a run becomes a trace with a span per step and per model call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from history import queries as q
from history.queries import Filters
from history.store import HistoryStore
from orchestrator import events as ev
from tests.history.helpers import Call, Step, record_all, run_events

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-proj-" + "Z9y8X7w6V5u4T3s2R1q0" * 2


@pytest.mark.slow  # MLflow's first use creates its SQLite store: a few seconds
def test_each_run_becomes_a_trace_with_step_and_call_spans(data_dir: Path) -> None:
    import mlflow

    with HistoryStore.open(data_dir, mlflow=True) as store:
        record_all(store, run_events("r1", steps=[
            Step("plan", 1.0, [Call("openai/gpt-4o-mini", 0.01, 0.5, tokens_in=120, tokens_out=30)]),
            Step("write", 2.0, [Call("openai/gpt-4o-mini", 0.0, 0.2, error=f"401 bad key {KEY}"),
                                Call("anthropic/claude-haiku", 0.02, 1.0)]),
        ]))  # fmt: skip
        assert store.flush(60)
        trace_id = q.list_runs(store.read_cursor(), Filters(owner="alice"))["mlflow_trace_id"][0]
        experiment_id = store.tracer.experiment_id  # type: ignore[union-attr]

    assert store.tracer is not None and store.tracer.tracking_uri == f"sqlite:///{data_dir / 'mlflow.db'}"
    traces = mlflow.search_traces(locations=[experiment_id], return_type="list")
    trace = next(t for t in traces if t.info.trace_id == trace_id)
    spans = {s.name: s for s in trace.data.spans}
    assert sorted(spans) == ["llm anthropic/claude-haiku", "llm openai/gpt-4o-mini", "run triage",
                             "step plan", "step write"]  # fmt: skip (the two gpt calls share a name)
    assert len(trace.data.spans) == 6
    llm = [s for s in trace.data.spans if s.span_type == "LLM"]
    assert {(s.attributes["model"], s.attributes["tokens_in"], s.attributes["cost_usd"]) for s in llm} == {
        ("openai/gpt-4o-mini", 120, 0.01), ("openai/gpt-4o-mini", 100, 0.0), ("anthropic/claude-haiku", 100, 0.02),
    }  # fmt: skip
    write = spans["step write"]
    assert write.attributes["cost_usd"] == pytest.approx(0.02) and write.parent_id == spans["run triage"].span_id
    assert all(s.parent_id == write.span_id for s in llm if s.start_time_ns >= write.start_time_ns)
    assert KEY not in trace.to_json() and "[REDACTED]" in trace.to_json()


def test_mlflow_is_not_imported_unless_tracing_is_on(data_dir: Path) -> None:
    code = """
import sys
from history.store import HistoryStore
from history import queries
from orchestrator import events as ev
with HistoryStore.open(sys.argv[1]) as store:
    store.record(ev.RunStarted(run_id="r", workflow="w", owner="a"))
    queries.kpis(store.read_cursor(), queries.Filters(owner="a"))
    assert store.tracer is None
print("mlflow" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code, str(data_dir)], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_tracing_turns_on_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from history.store import mlflow_enabled

    monkeypatch.setenv("GRAPHWRIGHT_MLFLOW", "1")
    assert mlflow_enabled()
    monkeypatch.setenv("GRAPHWRIGHT_MLFLOW", "0")
    assert not mlflow_enabled()
    monkeypatch.delenv("GRAPHWRIGHT_MLFLOW")
    assert not mlflow_enabled() and ev.TERMINAL_TYPES
