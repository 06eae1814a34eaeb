"""Analytics: the check pass rate of each workflow version, per model (from `history.checks`).

A version is named by the first 8 characters of its config hash, in the order versions were first
checked, so a change that made things better or worse shows as a step between two bars.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from ui import analytics_view as view
from ui.funnel import funnel
from ui.services import AppServices
from ui.session import Session

TITLE = "Check pass rate by workflow version (%)"


def pass_rate_chart(frame: pd.DataFrame) -> pd.DataFrame:
    """workflow, version, model, pass_rate (percent) from `history.checks.pass_rate_by_version`."""
    if frame.empty:
        return pd.DataFrame(columns=["workflow", "version", "model", "pass_rate"])
    out = frame.sort_values("last_run", kind="stable")
    return pd.DataFrame({
        "workflow": out["workflow"],
        "version": [h[:8] if h else "unversioned" for h in out["config_hash"]],
        "model": out["model"],
        "pass_rate": (out["pass_rate"].astype(float) * 100).round(1),
    }).reset_index(drop=True)


def plot() -> gr.Plot:
    return gr.Plot(label=TITLE, elem_id="an-check-pass-rate", show_label=False)


def wire(services: AppServices, plot: gr.Plot, refresh: gr.Button, filter_inputs: list[Any],
         filters: Callable[..., Any]) -> None:
    """Refresh the chart with the other dashboards (same filters, the session's own results only)."""

    @funnel
    def chart(span: str, workflow: str, model: str, status: str, version: str, session: Session) -> Any:
        from history.checks import pass_rate_by_version

        if services.history is None:
            return None
        f = filters(session, span, workflow, model, status, version)
        frame = pass_rate_chart(pass_rate_by_version(services.history.read_cursor(), f))
        with services.chart_lock:
            return view.figure(frame, "bars", "version", "pass_rate", "model", TITLE)

    refresh.click(chart, filter_inputs, [plot], api_visibility="private", concurrency_id="analytics")
