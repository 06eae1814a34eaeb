"""Analytics: "Run again on another model" (replay) and "What would this have cost on…" (re-pricing).

Pure mappers (a `Comparison` or a `Repricing` to HTML and frames) are tested without a server; the
wiring below them is thin. A replay runs through the session's engine like any run (its quota
included), serving every step not chosen from the source run; only the visitor's own runs qualify.
"""

from __future__ import annotations

import uuid
from typing import Any

import gradio as gr
import pandas as pd

from ui.funnel import UserFacingError, funnel
from ui.safe_text import esc
from ui.services import AppServices
from ui.session import Session

PICK_HELP = ("One step per line: `STEP`, `STEP=MODEL`, `STEP@item=N=MODEL` (a map item, from 0) or "
             "`STEP@round=N=MODEL` (a loop round, from 1); `*=MODEL` runs every step that called a model again.")


def _usd(value: Any) -> str:
    return "unknown" if value is None or value != value else f"${float(value):.6f}"


def comparison_html(comparison: Any) -> str:
    """Each re-run step before → after (model, tokens, cost, latency), then each output's diff."""
    head = "".join(f"<th>{h}</th>" for h in ("Step", "Where", "Model", "Tokens in/out", "Cost", "Latency"))
    rows = []
    for s in comparison.steps:
        b, a = s.before, s.after
        cells = (
            esc(s.step_id), esc(s.where or "–"),
            f"{esc(b.model or '–') if b else '–'} → {esc(a.model or '–')}",
            f"{f'{b.tokens_in}/{b.tokens_out}' if b else '–'} → {a.tokens_in}/{a.tokens_out}",
            f"{b.cost_text if b else '–'} → {a.cost_text}",
            f"{f'{b.latency_s:.2f}s' if b else '–'} → {a.latency_s:.2f}s",
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    diffs = []
    for s in comparison.steps:
        text = s.diff
        where = f" ({esc(s.where)})" if s.where else ""
        body = "<em>same output</em>" if not text else "<pre class='gw-diff'>" + "".join(
            f"<span class='gw-diff-{_kind(line)}'>{esc(line)}</span>" for line in text.splitlines()) + "</pre>"
        diffs.append(f"<details open><summary><b>{esc(s.step_id)}</b>{where}</summary>{body}</details>")
    totals = (f"<p>Source run <code>{esc(comparison.source_run_id)}</code>: {_usd(comparison.cost_before)}; "
              f"replay <code>{esc(comparison.run_id)}</code>: {_usd(comparison.cost_after)} "
              "(served steps made no call and cost nothing).</p>")
    return (f"<div id='gw-replay-compare'>{totals}<table class='gw-table'><tr>{head}</tr>{''.join(rows)}</table>"
            f"{''.join(diffs)}</div>")


def _kind(line: str) -> str:
    if line.startswith(("+++", "---", "@@")):
        return "hdr"
    return "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"


def repricing_frames(result: Any) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Per-day and per-step tables (unknown costs stay unknown) and a note naming unpriced models."""
    alt = f"on {result.model}"

    def shape(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        out = frame[[*keys, "calls", "tokens_in", "tokens_out"]].copy()
        out["actual"] = [_usd(v) for v in frame["actual_usd"]]
        out[alt] = [_usd(v) for v in frame["alternative_usd"]]
        return out

    note = (f"**Actual {_usd(result.actual_usd)} vs {_usd(result.alternative_usd)} on `{result.model}`** "
            "(tokens as recorded, LiteLLM's local prices).")
    for model, calls in result.unpriced_models.items():
        note += f"\n\nUnpriced: `{model}` ({calls} call{'s' * (calls != 1)}): its actual cost is unknown, not 0."
    return shape(result.by_day, ["day"]), shape(result.by_step, ["workflow", "step_id", "models"]), note


def build(services: AppServices, session_state: gr.State, filter_inputs: list[Any], filters: Any) -> gr.Textbox:
    """The two accordions; returns the run-id box (the runs table fills it when a row is selected).

    `filter_inputs`: the tab's filter widgets, the session state last; `filters(session, *their values)`
    turns them into `Filters`, so re-pricing covers what the dashboards show.
    """
    with gr.Accordion("Run again on another model (replay)", open=False):
        with gr.Row():
            run_id = gr.Textbox(label="Run", placeholder="select a run above", elem_id="an-rp-run", scale=2)
            allow = gr.Checkbox(label="Tools with side effects may act again", value=False, elem_id="an-rp-allow")
        picks = gr.Textbox(label="Steps to run again", lines=3, placeholder="draft=openai/gpt-4o-mini",
                           info=PICK_HELP, elem_id="an-rp-picks")
        go = gr.Button("Replay", variant="primary", elem_id="an-rp-go")
        result = gr.HTML("", elem_id="an-rp-result", js_on_load=None)

    @funnel
    async def replay(run: str, lines: str, may_act: bool, session: Session) -> str:
        from history.errors import HistoryError
        from history.replay_compare import compare
        from history.replay_plan import Pick, prepare_replay
        from orchestrator.events import RunOrigin

        if services.history is None:
            raise UserFacingError("Run history is not available in this process.")
        engine = services.engine_for(session)
        try:
            chosen = [Pick.parse(line) for line in (lines or "").replace(",", "\n").splitlines() if line.strip()]
            prepared = prepare_replay(services.history.read_cursor(), engine.store, (run or "").strip(),
                                      session.owner_id, chosen, allow_side_effects=bool(may_act))
        except HistoryError as exc:
            raise UserFacingError(f"Cannot replay: {exc}.") from None
        new_id = uuid.uuid4().hex
        with services.quotas.admit(services.visitor_for(session), new_id):
            async for _event in engine.run(prepared.workflow, prepared.inputs, owner=session.owner_id,
                                           run_id=new_id, replay=prepared.plan, origin=RunOrigin(source="replay")):
                pass
        services.history.flush(30)
        return comparison_html(compare(services.history.read_cursor(), new_id, session.owner_id))

    go.click(replay, [run_id, picks, allow, session_state], [result], api_name="rerun", concurrency_limit=4,
             concurrency_id="replay")

    with gr.Accordion("What would this have cost on another model?", open=False):
        with gr.Row():
            model = gr.Textbox(label="Model", placeholder="openai/gpt-4o-mini", elem_id="an-rc-model", scale=3)
            price = gr.Button("Re-price these calls", elem_id="an-rc-go")
        note = gr.Markdown(elem_id="an-rc-note")
        by_day = gr.Dataframe(label="Per day", interactive=False, elem_id="an-rc-day")
        by_step = gr.Dataframe(label="Per step", interactive=False, elem_id="an-rc-step")

    @funnel
    def reprice(alternative: str, *values: Any) -> tuple[Any, ...]:
        from history.reprice import Unpriced
        from history.reprice import reprice as run_reprice

        if services.history is None:
            raise UserFacingError("Run history is not available in this process.")
        if not (alternative or "").strip():
            raise UserFacingError("Name the model to price with, e.g. openai/gpt-4o-mini.")
        session: Session = values[-1]
        try:
            result = run_reprice(services.history.read_cursor(), filters(session, *values[:-1]), alternative.strip())
        except Unpriced as exc:
            raise UserFacingError(str(exc)) from None
        day, step, text = repricing_frames(result)
        return text, day, step

    price.click(reprice, [model, *filter_inputs], [note, by_day, by_step], api_name="reprice",
                concurrency_limit=4, concurrency_id="analytics")
    return run_id

