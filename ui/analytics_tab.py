"""The Analytics tab: KPIs, cost, latency, tokens and failures of *this session's* runs, a runs
table whose rows replay their trace, CSV/Parquet export and the read-only SQL box.

Every query is filtered by the session's owner id (or the signed-in user): one person never sees
another's runs, whatever they type in the SQL box (`history.sql_box` copies only their rows).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from ui import analytics_view as view
from ui import checks_analytics, replay_view, versions_panel
from ui.downloads import owner_folder
from ui.funnel import UserFacingError, friendly_message, funnel
from ui.services import AppServices
from ui.session import Session
from ui.trace_view import TraceView

ANY = "(any)"
NO_COST = "No cost yet: these runs used models with no known price"
STATUSES = (ANY, "finished", "failed", "cancelled", "interrupted", "running")


def _filters(session: Session, span: str, workflow: str | None, model: str | None, status: str | None,
             version: str | None = None) -> Any:
    from history.queries import Filters

    def pick(value: str | None) -> str | None:
        return None if not value or value == ANY else value

    return Filters(owner=session.owner_id, date_from=view.date_from(span), workflow=pick(workflow),
                   model=pick(model), status=pick(status), version=pick(version))


def _selected_run(evt: gr.SelectData) -> str:
    """The run id of the selected row (what "Run again on another model" starts from)."""
    row = evt.row_value if evt is not None else None
    return str(row[0]) if row else ""


def build(services: AppServices, session_state: gr.State) -> gr.Button:
    """Lay out the tab; returns the refresh button (the app refreshes on tab select)."""
    with gr.Row():
        span = gr.Dropdown(list(view.RANGES), value="Last 7 days", label="Period", elem_id="an-span")
        workflow = gr.Dropdown([ANY], value=ANY, label="Workflow", elem_id="an-workflow")
        model = gr.Dropdown([ANY], value=ANY, label="Model", elem_id="an-model")
        status = gr.Dropdown(list(STATUSES), value=ANY, label="Status", elem_id="an-status")
        version = gr.Dropdown([ANY], value=ANY, label="Version", elem_id="an-version")
        refresh = gr.Button("Refresh", variant="primary", elem_id="an-refresh")
    kpis = gr.HTML(view.kpi_html(pd.DataFrame()), elem_id="an-kpis", js_on_load=None)
    with gr.Row():
        cost = gr.Plot(label="Cost by time and model", elem_id="an-cost", show_label=False)
        tokens = gr.Plot(label="Tokens over time", elem_id="an-tokens", show_label=False)
    with gr.Row():
        lat_model = gr.Plot(label="Call latency by model", elem_id="an-lat-model", show_label=False)
        lat_step = gr.Plot(label="Step latency", elem_id="an-lat-step", show_label=False)
    pass_rate = checks_analytics.plot()
    failures = gr.Dataframe(label="Failures by reason", interactive=False, elem_id="an-failures")
    runs = gr.Dataframe(label="Runs (select a row to replay its trace)", interactive=False, elem_id="an-runs",
                        max_height=360)
    compare_versions = versions_panel.build(services, session_state, span)
    with gr.Accordion("Replay", open=True):
        replay_status = gr.Markdown("_Select a run above._", elem_id="an-replay-status")
        replay_timeline = gr.HTML("", elem_id="an-replay", js_on_load=None)
        replay_output = gr.Textbox(label="Output", lines=4, interactive=False, elem_id="an-replay-output")
    with gr.Accordion("Export", open=False):
        with gr.Row():
            fmt = gr.Radio(["csv", "parquet"], value="csv", label="Format")
            what = gr.Radio(["runs", "model calls"], value="runs", label="Rows")
            export_btn = gr.Button("Export", elem_id="an-export")
        export_file = gr.File(label="Download", interactive=False, elem_id="an-export-file")
    with gr.Accordion("SQL (read-only, your rows only)", open=False):
        sql = gr.Code(language="sql", value="SELECT workflow, count(*) AS runs, sum(cost_usd) AS cost\n"
                      "FROM runs GROUP BY workflow ORDER BY cost DESC", lines=4, elem_id="an-sql")
        sql_btn = gr.Button("Run query", elem_id="an-sql-run")
        sql_note = gr.Markdown(elem_id="an-sql-note")
        sql_out = gr.Dataframe(interactive=False, elem_id="an-sql-out")

    filter_inputs = [span, workflow, model, status, version, session_state]
    checks_analytics.wire(services, pass_rate, refresh, filter_inputs, _filters)

    @funnel
    def dashboards(span_v: str, wf: str, mdl: str, st: str, ver: str, session: Session) -> tuple[Any, ...]:
        from history import queries as q

        if services.history is None:
            raise UserFacingError("Run history is not available in this process.")
        cur = services.history.read_cursor()
        f = _filters(session, span_v, wf, mdl, st, ver)
        cost_frame = view.cost_chart(q.cost_over_time(cur, f, "hour"))
        tokens_frame = view.tokens_chart(q.tokens_over_time(cur, f, "hour"))
        by_model = view.latency_chart(q.latency_by_model(cur, f), "model")
        by_step = view.latency_chart(q.latency_by_step(cur, f), "step_id")
        with services.chart_lock:
            charts = (
                view.figure(cost_frame, "stack", "bucket", "cost_usd", "model", "Cost by {bucket} and model (USD)",
                            zero_note=NO_COST),
                view.figure(tokens_frame, "bars", "bucket", "tokens", "kind", "Tokens by {bucket}"),
                view.figure(by_model, "bars", "model", "seconds", "stat", "Call latency p50 / p95 by model (s)"),
                view.figure(by_step, "bars", "step_id", "seconds", "stat", "Step latency p50 / p95 by workflow (s)"),
            )
        return (
            view.kpi_html(q.kpis(cur, f)),
            *charts,
            q.failures_by_reason(cur, f),
            view.runs_table(q.list_runs(cur, f, limit=200)),
            gr.update(choices=[ANY, *q.workflows(cur, session.owner_id)]),
            gr.update(choices=[ANY, *q.models(cur, session.owner_id)]),
            *compare_versions.refresh(cur, session, f),
        )

    outputs = [kpis, cost, tokens, lat_model, lat_step, failures, runs, workflow, model, version,
               *compare_versions.outputs]
    refresh.click(dashboards, filter_inputs, outputs, api_name="analytics", concurrency_limit=8,
                  concurrency_id="analytics")
    for dropdown in (span, status):
        dropdown.input(dashboards, filter_inputs, outputs, api_visibility="private", concurrency_id="analytics")

    @funnel
    def replay(table: pd.DataFrame, session: Session, evt: gr.SelectData) -> tuple[Any, ...]:
        from history.queries import replay as load_events

        row = evt.row_value if evt is not None else None
        if not row:
            raise UserFacingError("Select a row of the runs table.")
        run_id = str(row[0])
        events = load_events(services.history.read_cursor(), run_id, session.owner_id) if services.history else []
        if not events:
            raise UserFacingError(f"No trace recorded for run '{run_id}'.")
        trace = TraceView()
        trace.apply_all(events)
        return trace.status_markdown(), trace.timeline_html() + trace.tools_html(), trace.output or trace.current_text

    runs.select(replay, [runs, session_state], [replay_status, replay_timeline, replay_output],
                api_visibility="private")
    rerun_id = replay_view.build(services, session_state, filter_inputs, _filters)
    runs.select(_selected_run, None, [rerun_id], api_visibility="private")

    @funnel
    def export(fmt_v: str, what_v: str, span_v: str, wf: str, mdl: str, st: str, ver: str, session: Session) -> str:
        from history.export import export_calls, export_runs

        if services.history is None:
            raise UserFacingError("Run history is not available in this process.")
        if fmt_v not in ("csv", "parquet"):
            raise UserFacingError("Choose csv or parquet.")
        # One file per visitor and kind, overwritten: pressing Export in a loop cannot fill the disk
        # (Gradio copies the result into its own, expiring, cache).
        name = "runs" if what_v == "runs" else "llm_calls"
        dest = owner_folder(session.owner_id) / f"{name}.{fmt_v}"
        writer = export_runs if what_v == "runs" else export_calls
        return str(writer(services.history.read_cursor(), dest, _filters(session, span_v, wf, mdl, st, ver), fmt_v))

    export_btn.click(export, [fmt, what, *filter_inputs], [export_file], api_name="export")

    @funnel
    def run_query(text: str, session: Session) -> tuple[Any, ...]:
        from history.errors import HistoryError
        from history.sql_box import run_sql

        if services.history is None:
            raise UserFacingError("Run history is not available in this process.")
        try:
            result = run_sql(services.history.read_cursor(), text or "", session.owner_id, gate=services.sql_gate)
        except HistoryError as exc:  # shown where the results were: the old rows and note go away
            return view.sql_error_note(friendly_message(exc)), pd.DataFrame()
        return view.sql_note(result.note, result.elapsed_s), result.frame

    sql_btn.click(run_query, [sql, session_state], [sql_note, sql_out], api_name="sql", concurrency_limit=4,
                  concurrency_id="sql")
    return refresh
