"""A check run as an MLflow evaluation: one evaluation run, its attempts' traces linked to it.

Runs on the tracer's own thread (`MlflowTracer.put_job`), after the attempts' events, so their
traces exist. Like `mlflow.genai.evaluate`, the run is tagged `mlflow.runType=genai_evaluate`, the
traces are linked to it, and each trace gets a `Feedback` per case (code source) and per judge
(LLM-judge source, with the judge's reason) carrying the evaluation run's id. Run metrics: pass rate,
cases, failures, run and judge cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from history.scrub import redact

if TYPE_CHECKING:
    from history.mlflow_sink import MlflowTracer
    from orchestrator.checks.results import CheckReport

LINK_BATCH = 100  # MLflow links at most 100 traces per call


def evaluation_job(report: CheckReport, owner: str) -> Any:
    """A tracer job that logs `report` as an evaluation run."""

    def job(tracer: MlflowTracer) -> None:
        log_evaluation(tracer, report, owner)

    return job


def log_evaluation(tracer: MlflowTracer, report: CheckReport, owner: str) -> str:
    """Log `report`; returns the MLflow run id."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import AssessmentSource, AssessmentSourceType, Metric, Param, RunTag
    from mlflow.tracing.constant import AssessmentMetadataKey

    client = MlflowClient(tracer.tracking_uri)
    run = client.create_run(tracer.experiment_id or "0", run_name=f"checks {report.workflow}", tags={
        "mlflow.runType": "genai_evaluate", "graphwright.check_run_id": report.check_run_id,
        "graphwright.workflow": report.workflow, "graphwright.owner": owner,
    })  # fmt: skip
    run_id = run.info.run_id
    cases = len(report.cases)
    metrics = {"pass_rate": (cases - len(report.failed)) / cases if cases else 0.0, "cases": cases,
               "failed": len(report.failed), "cost_usd": sum(a.cost_usd for a in report.attempts),
               "judge_cost_usd": sum(a.judge_cost_usd for a in report.attempts), "wall_s": report.wall_s}
    client.log_batch(run_id, metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
                     params=[Param("model", report.model), Param("config_hash", report.config_hash or "-")],
                     tags=[RunTag("graphwright.passed", str(report.passed).lower())])
    traced = [(case, a, tracer.trace_ids.get(a.run_id)) for case in report.cases for a in case.attempts]
    traced = [(case, a, trace) for case, a, trace in traced if trace]
    ids = [trace for _, _, trace in traced]
    for start in range(0, len(ids), LINK_BATCH):
        client.link_traces_to_run(ids[start:start + LINK_BATCH], run_id)
    code = AssessmentSource(source_type=AssessmentSourceType.CODE, source_id="graphwright checks")
    for case, attempt, trace in traced:
        client.set_trace_tag(trace, "graphwright.check_case", case.name)
        meta = {AssessmentMetadataKey.SOURCE_RUN_ID: run_id, "attempt": str(attempt.attempt)}
        mlflow.log_feedback(trace_id=trace, name=case.name, value=attempt.passed, source=code, metadata=meta,
                            rationale=redact("; ".join(attempt.reasons)) or "all expectations held")
        if attempt.judge_verdict is not None:
            judge = AssessmentSource(source_type=AssessmentSourceType.LLM_JUDGE,
                                     source_id=attempt.judge_model or "judge")
            mlflow.log_feedback(trace_id=trace, name=f"{case.name}: judge", value=attempt.judge_verdict,
                                source=judge, rationale=redact(attempt.judge_reason), metadata=meta)
    client.set_terminated(run_id, "FINISHED" if report.passed else "FAILED")
    return run_id
