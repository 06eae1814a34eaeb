"""Analytics frames, validation lists and the error funnel, tested without a server."""

from __future__ import annotations

import asyncio
from datetime import datetime

import gradio as gr
import pandas as pd
import pytest

from schemas import validate_text
from schemas.errors import ConfigError
from ui import analytics_view as view
from ui.forms import FormError
from ui.funnel import UserFacingError, friendly_message, funnel
from ui.issues_view import issues_markdown

BROKEN = """\
version: 1
name: demo
agents:
  writer: {role: Writer}
stepz:
  - {id: a, type: agent, agent: writer, prompt: hi}
"""


# ---- analytics ----------------------------------------------------------------------------------------
def test_kpis_render_as_cards_even_without_runs() -> None:
    empty = view.kpi_html(pd.DataFrame())
    assert "Runs" in empty and ">0<" in empty and "–" in empty
    row = pd.DataFrame([{"runs": 4, "finished": 3, "failed": 1, "success_rate": 0.75, "total_cost_usd": 0.5,
                         "avg_cost_usd": 0.125, "p50_latency_s": 1.5, "p95_latency_s": 3.25,
                         "tokens_in": 100, "tokens_out": 40}])
    html = view.kpi_html(row)
    assert "75%" in html and "&#36;0.5000" in html and "3.25s" in html and "100 / 40" in html


def test_chart_frames_are_long_form_and_typed() -> None:
    cost = view.cost_chart(pd.DataFrame({"bucket": [datetime(2026, 11, 23, 14)], "model": ["m"], "cost_usd": [0.1],
                                         "calls": [2]}))
    assert cost.to_dict("records") == [{"bucket": "Nov 23 14:00", "model": "m", "cost_usd": 0.1}]
    tokens = view.tokens_chart(pd.DataFrame({"bucket": [datetime(2026, 11, 23)], "tokens_in": [5],
                                             "tokens_out": [7]}))
    assert sorted(tokens["kind"]) == ["tokens_in", "tokens_out"] and tokens["tokens"].sum() == 12
    lat = view.latency_chart(pd.DataFrame({"model": ["m"], "p50_s": [0.5], "p95_s": [None]}), "model")
    assert lat.to_dict("records") == [{"model": "m", "stat": "p50", "seconds": 0.5},
                                      {"model": "m", "stat": "p95", "seconds": 0.0}]
    for empty in (view.cost_chart(pd.DataFrame()), view.tokens_chart(pd.DataFrame()),
                  view.latency_chart(pd.DataFrame(), "step_id")):
        assert empty.empty and len(empty.columns) == 3


def test_date_ranges() -> None:
    now = datetime(2026, 11, 23, 12)
    assert view.date_from("Last 24 hours", now) == datetime(2026, 11, 22, 12)
    assert view.date_from("Last 7 days", now) == datetime(2026, 11, 16, 12)
    assert view.date_from("All time", now) is None


def test_runs_table_keeps_ids_and_rounds_numbers() -> None:
    frame = pd.DataFrame([{"run_id": "abc", "workflow": "w", "status": "failed",
                           "started_at": datetime(2026, 11, 23, 1, 2, 3, 456), "duration_s": 1.234567,
                           "tokens_in": 1, "tokens_out": 2, "cost_usd": 0.123456789, "reason": None,
                           "owner": "someone", "config_hash": "3f2a9c1d" + "0" * 56,
                           "version_first_seen": datetime(2026, 11, 22, 9, 30, 5)}])
    table = view.runs_table(frame)
    assert list(table.columns) == list(view.RUN_TABLE_COLUMNS)
    assert table.iloc[0]["version"] == "3f2a9c1d · 2026-11-22 09:30"
    assert table.iloc[0]["run_id"] == "abc" and table.iloc[0]["started_at"] == "2026-11-23 01:02:03"
    assert table.iloc[0]["cost_usd"] == 0.1235 and table.iloc[0]["reason"] == ""


# ---- validation list -------------------------------------------------------------------------------------
def test_issues_quote_the_line_and_say_where() -> None:
    md = issues_markdown(validate_text(BROKEN, "workflow.yaml"), BROKEN)
    assert "problem(s)" in md and "**line 5, col 1**" in md and "`stepz:`" in md and "steps" in md


def test_valid_config_says_so() -> None:
    text = BROKEN.replace("stepz", "steps")
    assert issues_markdown(validate_text(text, "workflow.yaml"), text).startswith("✓ **Valid.**")


def test_a_version_1_config_says_what_the_upgrade_changed() -> None:
    text = BROKEN.replace("stepz", "steps")
    assert "version: 1\n" in text
    md = issues_markdown(validate_text(text, "workflow.yaml"), text)
    assert md.startswith("✓ **Valid.** Ready to run.\n- ↑ upgraded from version 1: ")


# ---- error funnel ---------------------------------------------------------------------------------------
def test_config_errors_list_every_issue_with_its_line() -> None:
    report = validate_text(BROKEN, "workflow.yaml")
    message = friendly_message(ConfigError(report.errors))
    assert message.startswith("The config has problems:") and "line 5, col 1: unknown key `stepz`" in message


def test_unexpected_errors_do_not_leak_details() -> None:
    message = friendly_message(KeyError("sk-live-abcdef0123456789abcdef"))
    assert "KeyError" in message and "sk-live" not in message
    assert "- input 'x' is required" in friendly_message(FormError(["input 'x' is required"]))


def test_funnel_turns_errors_into_gradio_errors_for_every_handler_shape() -> None:
    @funnel
    def plain() -> None:
        raise UserFacingError("Pick a file first.")

    @funnel
    async def agen() -> object:
        yield 1
        raise UserFacingError("Stopped halfway.")

    with pytest.raises(gr.Error, match="Pick a file first."):
        plain()

    async def consume() -> list[int]:
        got = []
        async for item in agen():
            got.append(item)
        return got

    with pytest.raises(gr.Error, match="Stopped halfway."):
        asyncio.run(consume())


# ---- run consent ----------------------------------------------------------------------------------------
def test_the_design_draft_needs_no_second_consent_but_other_configs_do() -> None:
    from ui.run_tab import is_design_draft
    from ui.session import Session

    text = BROKEN.replace("stepz", "steps") + "limits: {max_cost_usd: 50}\n"
    workflow = validate_text(text, "workflow.yaml").workflow
    session = Session()
    assert not is_design_draft(text, workflow, session)
    session.chat.draft_yaml = text
    assert is_design_draft(text.rstrip("\n"), workflow, session)  # the Run editor drops the final newline
    other = validate_text(text.replace("50", "60"), "workflow.yaml").workflow
    assert not is_design_draft(text.replace("50", "60"), other, session)


def test_figures_group_latency_bars_and_say_when_there_is_no_data() -> None:
    lat = view.latency_chart(pd.DataFrame({"model": ["m"], "p50_s": [0.5], "p95_s": [0.9]}), "model")
    fig = view.figure(lat, "bars", "model", "seconds", "stat", "Latency")
    assert fig.layout.barmode == "group" and [t.name for t in fig.data] == ["p50", "p95"]
    empty = view.figure(view.cost_chart(pd.DataFrame()), "stack", "bucket", "cost_usd", "model", "Cost")
    assert not empty.data and "No data" in empty.layout.annotations[0].text


# ---- services -------------------------------------------------------------------------------------------
def test_sessions_get_their_own_keys_and_opt_in_to_mlflow(tmp_path) -> None:
    from orchestrator.credentials import Credentials
    from ui.services import AppServices
    from ui.session import Session

    services = AppServices(data_dir=tmp_path, base_credentials=Credentials(keys={"openai": "sk-env-0000000000"}))
    alice, bob = Session(), Session()
    alice.settings.keys["anthropic"] = "sk-ant-alice-000000000"
    assert services.credentials_for(alice).configured_providers() == ["anthropic", "openai"]
    assert services.credentials_for(bob).configured_providers() == ["openai"]
    assert services.sinks_for(alice) == []
    alice.settings.mlflow = True
    try:
        assert len(services.sinks_for(alice)) == 1 and services.sinks_for(bob) == []
    finally:
        services.close()
