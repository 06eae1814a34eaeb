"""The Run tab's "Run checks": every case under `checks:` through the engine, and the same table as the CLI.

`table_value` and `summary_markdown` are pure mappers (tested without a server). The handler
follows the Run button's rules: it validates the config itself, refuses raised powers the person
has not allowed, and admits each attempt through the visitor's quotas; results go to history under
the session's owner (and to MLflow as an evaluation when the session traces to MLflow).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from orchestrator.checks.report import HEADERS, table_rows
from orchestrator.checks.results import Attempt, CheckReport
from ui.funnel import UserFacingError, friendly_message, funnel
from ui.safe_text import safe_markdown
from ui.services import AppServices
from ui.session import Session


@dataclass
class ChecksView:
    button: gr.Button
    status: gr.Markdown
    table: gr.Dataframe


def table_value(report: CheckReport) -> list[list[Any]]:
    """The table's rows: one per case, as `graphwright test` prints them."""
    return [list(row.cells()) for row in table_rows(report)]


def summary_markdown(report: CheckReport) -> str:
    failed = len(report.failed)
    mark = "✓" if report.passed else "✗"
    judge = sum(a.judge_cost_usd for a in report.attempts)
    cost = sum(a.cost_usd for a in report.attempts)
    return (f"{mark} **{len(report.cases) - failed} passed, {failed} failed** — "
            f"`{safe_markdown(report.workflow)}` on `{safe_markdown(report.model)}` in {report.wall_s:.1f}s · "
            f"runs ${cost:.4f}, judges ${judge:.4f} · version `{report.config_hash[:8]}`")


def progress_markdown(done: list[Attempt], total: int) -> str:
    failed = sum(not a.passed for a in done)
    return f"Running checks… {len(done)}/{total} runs done" + (f", {failed} failed" if failed else "")


def build(services: AppServices, session_state: gr.State, config: gr.Code, model: gr.Dropdown,
          allow: gr.Checkbox) -> ChecksView:
    with gr.Accordion("Checks", open=False, elem_id="checks-box"):
        gr.Markdown("Runs every case under `checks:` in the config (with the model override, if set) and "
                    "grades the outputs; each run is recorded like any other.")
        button = gr.Button("Run checks", elem_id="run-checks")
        status = gr.Markdown(elem_id="checks-status")
        table = gr.Dataframe(headers=list(HEADERS), value=[], interactive=False, wrap=True, elem_id="checks-table",
                             column_widths=["17%", "8%", "7%", "9%", "7%", "8%", "8%", "36%"])

    @funnel
    async def run_checks(text: str, model_override: str, allowed: bool, session: Session
                         ) -> AsyncIterator[tuple[Any, Any]]:
        try:
            workflow, override = _checked(text, model_override, allowed, services, session)
        except Exception as exc:  # the refusal stays on the page, worded for people
            yield f"✗ {safe_markdown(friendly_message(exc))}", gr.skip()
            return
        async for update in _stream(workflow, text, override, services, session):
            yield update

    button.click(run_checks, [config, model, allow, session_state], [status, table], api_name="run_checks",
                 concurrency_limit=services.max_concurrent_runs, concurrency_id="runs", show_progress="minimal")
    return ChecksView(button, status, table)


def _checked(text: str, model_override: str, allowed: bool, services: AppServices, session: Session
             ) -> tuple[Any, str | None]:
    from orchestrator.providers import model_string_problem
    from ui.run_tab import is_design_draft, load_config, powers_of

    workflow = load_config(text, services, session)
    if not workflow.checks:
        raise UserFacingError("This config has no `checks:`: add named cases (inputs and what to expect) "
                              "to run them here.")
    powers = powers_of(workflow)
    if powers and not allowed and not is_design_draft(text, workflow, session):
        raise UserFacingError("This config raises powers (" + "; ".join(powers) + "). Review them and tick "
                              "*Allow this config's raised powers* to run its checks.")
    override = (model_override or "").strip() or None
    problem = model_string_problem(override, workflow.models) if override is not None else None
    if problem:
        raise UserFacingError(problem + ".")
    return workflow, override


async def _stream(workflow: Any, text: str, override: str | None, services: AppServices, session: Session
                  ) -> AsyncIterator[tuple[Any, Any]]:
    from orchestrator.checks.runner import run_checks

    visitor = services.visitor_for(session)
    limits = services.quotas.limits_for(visitor)
    done: list[Attempt] = []
    changed = asyncio.Event()

    def finished(attempt: Attempt) -> None:
        done.append(attempt)
        changed.set()

    total = sum(c.repeat for c in workflow.checks)
    task = asyncio.ensure_future(run_checks(
        services.engine_for(session), workflow, owner=session.owner_id, model=override,
        concurrency=max(1, limits.concurrent_runs - 1), original=text, on_attempt=finished,
        admit=lambda run_id: services.quotas.admit(visitor, run_id)))
    try:
        yield progress_markdown(done, total), []
        while not task.done():
            waiter = asyncio.ensure_future(changed.wait())
            await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            changed.clear()
            yield progress_markdown(done, total), gr.skip()
        report = task.result()
    finally:
        task.cancel()
    _record(report, services, session)
    yield summary_markdown(report), table_value(report)


def _record(report: CheckReport, services: AppServices, session: Session) -> None:
    if services.history is not None:
        from history.checks import record_report

        record_report(services.history, report, session.owner_id)
    tracer = services.mlflow_tracer() if session.settings.mlflow else None
    if tracer is not None:
        from history.mlflow_checks import evaluation_job

        tracer.put_job(evaluation_job(report, session.owner_id))
