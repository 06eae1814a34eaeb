"""Run every case of a workflow's `checks:` through the real engine, concurrently and bounded.

Each attempt (a case, `repeat` times) is an ordinary run: it streams through the engine's sinks,
so history records it like any other run and the MLflow tracer traces it. Grading happens after the
run ends; the judges are called outside the run, so their cost stays apart from the run's. A run that
cannot finish on its own (it waits for a person) fails its case with that reason.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import Any

from orchestrator.checks.grade import Finding, caps, describe, grade, target_value
from orchestrator.checks.judge import Verdict, ask_judge, judge_params
from orchestrator.checks.results import Attempt, CaseResult, CheckReport
from orchestrator.errors import OrchestratorError
from orchestrator.events import RunOrigin
from orchestrator.state import InputsError
from schemas.checks import Check, Expectation
from schemas.models import Workflow

DEFAULT_CONCURRENCY = 4


async def run_checks(engine: Any, workflow: Workflow, *, owner: str = "", model: str | None = None,
                     concurrency: int = DEFAULT_CONCURRENCY, names: Sequence[str] | None = None,
                     original: str | None = None, on_attempt: Callable[[Attempt], None] | None = None,
                     admit: Callable[[str], AbstractContextManager[Any]] | None = None) -> CheckReport:
    """Every case (or those in `names`), each attempt a run of `engine`; `model` overrides every step's.

    `original`: the YAML text as written, filed with the config's version in history. `admit(run_id)`:
    held around each attempt (the app's quotas); when it refuses, that attempt fails with its reason.
    """
    from schemas.versions import config_hash

    started = time.perf_counter()
    origin = RunOrigin(source="test", original=original)
    fallback = await engine._embedded_default()
    runs_on = model or _models_used(workflow, workflow.default_model or engine.policy.default_model or fallback)
    judge_default = workflow.default_model or engine.policy.default_model or fallback
    chosen = [c for c in workflow.checks if names is None or c.name in names]
    report = CheckReport(uuid.uuid4().hex, workflow.name, runs_on, config_hash(workflow),
                         [CaseResult(c) for c in chosen])
    slots = asyncio.Semaphore(max(1, concurrency))

    def judge(e: Expectation) -> Any:
        return judge_params(e.model or judge_default, workflow, engine.credentials, fallback)

    async def one(result: CaseResult, number: int) -> None:
        attempt = Attempt(case=result.name, attempt=number, run_id=uuid.uuid4().hex)
        async with slots:
            with ExitStack() as held:
                try:
                    if admit is not None:
                        held.enter_context(admit(attempt.run_id))
                except Exception as exc:  # e.g. a quota: this attempt did not run
                    attempt.status, attempt.error = "refused", str(exc)
                else:
                    await _attempt(engine, workflow, result.check, attempt, owner=owner, model=model,
                                   origin=origin, judge=judge)
        result.attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)

    await asyncio.gather(*(one(r, n) for r in report.cases for n in range(1, r.check.repeat + 1)))
    for result in report.cases:
        result.attempts.sort(key=lambda a: a.attempt)
    report.wall_s = time.perf_counter() - started
    return report


async def _attempt(engine: Any, workflow: Workflow, check: Check, attempt: Attempt, *, owner: str,
                   model: str | None, origin: RunOrigin, judge: Callable[[Expectation], Any]) -> None:
    started = time.perf_counter()
    last: Any = None
    try:
        async for event in engine.run(workflow, dict(check.inputs), owner=owner, run_id=attempt.run_id,
                                      model_override=model, origin=origin):
            if event.type == "llm_call":
                attempt.cost_usd += event.cost_usd
                attempt.tokens += event.tokens_in + event.tokens_out
            last = event
    except (InputsError, OrchestratorError, ValueError) as exc:  # refused before it started
        attempt.status, attempt.error = "failed", str(exc)
        return
    attempt.latency_s = time.perf_counter() - started
    attempt.status = last.type.removeprefix("run_") if last is not None else "failed"
    if last is not None and last.type == "run_finished":
        attempt.cost_usd, attempt.tokens = last.cost_usd, last.tokens_in + last.tokens_out
        attempt.latency_s = last.duration_s
        await _grade(attempt, check, last.output, last.outputs, judge, engine.client)
    else:
        attempt.error = _why_not_finished(last)
    attempt.findings += caps(check, attempt.cost_usd, attempt.tokens, attempt.latency_s)


async def _grade(attempt: Attempt, check: Check, output: Any, outputs: dict[str, Any],
                 judge: Callable[[Expectation], Any], client: Any) -> None:
    judged: list[tuple[Expectation, asyncio.Task[Verdict]]] = []
    for e in check.expect:
        if e.kind != "judge":
            attempt.findings.append(grade(e, output, outputs))
            continue
        value, missing = target_value(e, output, outputs)
        if missing is not None:
            attempt.findings.append(Finding(describe(e), False, missing))
            continue
        judged.append((e, asyncio.ensure_future(ask_judge(client, judge(e), str(e.judge), value))))
    verdicts = []
    for e, task in judged:
        verdict = await task
        verdicts.append(verdict)
        attempt.findings.append(Finding(describe(e), verdict.passed, verdict.reason))
    if verdicts:
        attempt.judge_verdict = all(v.passed for v in verdicts)
        attempt.judge_reason = " | ".join(v.reason for v in verdicts)
        attempt.judge_cost_usd = sum(v.cost_usd for v in verdicts)
        attempt.judge_tokens = sum(v.tokens for v in verdicts)
        attempt.judge_model = ", ".join(dict.fromkeys(v.model for v in verdicts if v.model))


def _models_used(workflow: Workflow, default: str) -> str:
    """The models the steps call, as people read them (aliases replaced by their model strings)."""
    from orchestrator.models_table import used_model_names

    names = [workflow.models[n].model if n in workflow.models else n for n in used_model_names(workflow, default)]
    return ", ".join(dict.fromkeys(names))


def _why_not_finished(last: Any) -> str:
    if last is None:
        return "the run produced no events"
    match last.type:
        case "run_failed":
            return last.message
        case "run_interrupted":
            return "the run stopped to wait for a person (an approval or a question); checks cannot answer it"
        case "run_cancelled":
            return f"the run was {last.reason}"
    return f"the run ended with `{last.type}`"
