"""The Run tab's "Run checks" and the Analytics pass-rate chart: pure mappers, then the real app."""

from __future__ import annotations

import json

import pandas as pd
from gradio_client import Client

from orchestrator.checks.grade import Finding
from orchestrator.checks.results import Attempt, CaseResult, CheckReport
from schemas.checks import Check
from testkit.replies import Reply
from tests.ui.conftest import RunningApp
from ui.checks_analytics import pass_rate_chart
from ui.checks_view import summary_markdown, table_value

WORKFLOW = """\
version: 2
name: checked-app
inputs:
  topic: {type: string}
agents:
  writer: {role: Writer, model: openai/test-model}
steps:
  - {id: write, type: agent, agent: writer, prompt: "Write about {{ inputs.topic }}"}
checks:
  - {name: echoes, inputs: {topic: tides}, expect: [{contains: tides}]}
  - {name: judged, inputs: {topic: kelp}, expect: [{judge: It is about whales, model: openai/judge-model}]}
"""


def _report() -> CheckReport:
    ok = Attempt("a", 1, "r1", "finished", [Finding("contains 'x' (final output)", True)], cost_usd=0.001,
                 tokens=40, latency_s=1.5)
    bad = Attempt("b", 1, "r2", "finished", [Finding("judge: polite (final output)", False, "It is rude.")],
                  cost_usd=0.002, tokens=50, latency_s=2.0, judge_cost_usd=0.0005, judge_verdict=False)
    cases = [CaseResult(Check(name="a", max_tokens=100), [ok]), CaseResult(Check(name="b", max_tokens=100), [bad])]
    return CheckReport("cr1", "brief", "openai/gpt-4o-mini", "0123456789abcdef", cases, wall_s=2.5)


def test_the_table_has_a_row_per_case_with_the_reason() -> None:
    assert table_value(_report()) == [
        ["a", "PASS", "1/1", "0.00100", "40", "1.50", "0.00000", ""],
        ["b", "FAIL", "0/1", "0.00200", "50", "2.00", "0.00050", "judge: polite (final output): It is rude."],
    ]
    assert summary_markdown(_report()) == ("✗ **1 passed, 1 failed** — `brief` on `openai/gpt-4o-mini` in 2.5s · "
                                           "runs $0.0030, judges $0.0005 · version `01234567`")


def test_the_pass_rate_chart_names_versions_in_the_order_they_were_checked() -> None:
    frame = pd.DataFrame({"workflow": ["w", "w"], "config_hash": ["bbbbbbbbbb", ""], "model": ["m", "m"],
                          "pass_rate": [1.0, 0.5], "last_run": pd.to_datetime(["2026-11-02", "2026-11-01"])})
    assert pass_rate_chart(frame).values.tolist() == [["w", "unversioned", "m", 50.0], ["w", "bbbbbbbb", "m", 100.0]]
    assert pass_rate_chart(frame.iloc[:0]).empty


def _answer(request) -> Reply:
    if request.model == "judge-model":
        return Reply(text=json.dumps({"passed": False, "reason": "It is about kelp, not whales."}))
    return Reply(text=f"Notes: {request.messages[-1]['content']}")


def test_run_checks_shows_the_table_and_records_the_sessions_results(ui_app: RunningApp, llm_server) -> None:
    llm_server.set_default(_answer)
    client = Client(ui_app.url, verbose=False)
    status, table = client.predict(WORKFLOW, "", False, api_name="/run_checks")
    assert status.startswith("✗ **1 passed, 1 failed** — `checked-app` on `openai/test-model`")
    rows = {row[0]: row for row in table["data"]}
    assert rows["echoes"][1] == "PASS" and rows["judged"][1] == "FAIL"
    assert rows["judged"][-1] == "judge: It is about whales (final output): It is about kelp, not whales."
    assert sorted(r.model for r in llm_server.requests) == ["judge-model", "test-model", "test-model"]

    from history.checks import check_results
    from history.queries import Filters

    ui_app.services.history.flush()
    rows = check_results(ui_app.services.history.read_cursor(), Filters(owner=None))
    mine = rows[rows.workflow == "checked-app"]
    assert len(mine) == 2 and mine.owner.nunique() == 1 and mine.owner.iloc[0] != ""
    other = check_results(ui_app.services.history.read_cursor(), Filters(owner="someone else"))
    assert other.empty


def test_run_checks_refuses_a_config_without_checks(ui_app: RunningApp, llm_server) -> None:
    status, _table = Client(ui_app.url, verbose=False).predict(WORKFLOW.split("checks:")[0], "", False,
                                                              api_name="/run_checks")
    assert status.startswith("✗ This config has no `checks:`")
    assert llm_server.requests == []
