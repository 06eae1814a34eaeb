"""With MLflow tracing on, a check run is an MLflow evaluation whose traces are linked to their case."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from checks_testing import config, verdict
from engine_testing import FAKE_KEYS

from orchestrator.checks.runner import run_checks
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow


@pytest.mark.slow  # MLflow's first use creates its SQLite store: a few seconds
def test_a_check_run_is_logged_as_an_evaluation(answering, llm_client, tmp_path: Path) -> None:
    import mlflow
    from mlflow import MlflowClient

    from history.checks import record_report
    from history.store import HistoryStore

    answering.script(verdict(False, "Nothing about whales."), model="gpt-4o")
    workflow = load_workflow(config("""
        - {name: plain, inputs: {topic: whales}, expect: [{step: draft, contains: whales}]}
        - {name: judged, inputs: {topic: whales}, expect: [{step: draft, judge: Mentions whales, model: openai/gpt-4o}]}
        """))
    with HistoryStore.open(tmp_path / "d", mlflow=True) as store:
        engine = Engine(data_dir=tmp_path / "d", client=llm_client, credentials=FAKE_KEYS, policy=Policy(),
                        sinks=[store.sink])
        report = asyncio.run(run_checks(engine, workflow, owner="alice"))
        record_report(store, report, "alice")
        store.log_checks(report, "alice")
        assert store.flush(120)
        tracking_uri, experiment_id = store.tracer.tracking_uri, store.tracer.experiment_id

    client = MlflowClient(tracking_uri)
    [run] = client.search_runs([experiment_id], "tags.`mlflow.runType` = 'genai_evaluate'")
    assert run.data.tags["graphwright.check_run_id"] == report.check_run_id
    assert run.data.metrics["pass_rate"] == 0.5 and run.data.metrics["failed"] == 1
    assert run.data.metrics["judge_cost_usd"] > 0 and run.data.params["config_hash"] == report.config_hash
    mlflow.set_tracking_uri(tracking_uri)
    traces = mlflow.search_traces(locations=[experiment_id], run_id=run.info.run_id, return_type="list")
    assert len(traces) == 2
    by_case = {t.info.tags["graphwright.check_case"]: t for t in traces}
    assert sorted(by_case) == ["judged", "plain"]
    judged = {a.name: a for a in by_case["judged"].info.assessments}
    assert judged["judged"].value is False and judged["judged: judge"].rationale == "Nothing about whales."
    assert judged["judged: judge"].source.source_type == "LLM_JUDGE"
    assert {a.name: a.value for a in by_case["plain"].info.assessments} == {"plain": True}
    run_ids = {a.run_id for a in report.attempts}
    assert {t.info.tags["graphwright.run_id"] for t in traces} == run_ids
