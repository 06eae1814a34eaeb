"""In the browser: "Run checks" on the Run tab fills the table, and Analytics charts the pass rate."""

from __future__ import annotations

import json

import pytest

from testkit.replies import Reply
from tests.ui import test_browser
from tests.ui.test_browser import SLOW, expect, set_editor, shot, tab

browser, page = test_browser.browser, test_browser.page  # the same fixtures: one Chromium per module

pytestmark = pytest.mark.browser

CONFIG = """\
version: 2
name: checked-page
inputs:
  topic: {type: string, default: tides}
agents:
  writer: {role: Writer, model: openai/test-model}
steps:
  - {id: write, type: agent, agent: writer, prompt: "Write about {{ inputs.topic }}"}
checks:
  - {name: names the topic, inputs: {topic: tides}, expect: [{contains: tides}]}
  - {name: short enough, inputs: {topic: kelp}, expect: [{regex: '^.{0,80}$'}], max_tokens: 2000}
  - name: judged
    inputs: {topic: reefs}
    expect: [{judge: It is about coral reefs, model: openai/judge-model}]
"""


def _answer(request) -> Reply:
    if request.model == "judge-model":
        return Reply(text=json.dumps({"passed": False, "reason": "It only names reefs, nothing about coral."}))
    return Reply(text=f"A short note: {request.messages[-1]['content']}")


def test_run_checks_shows_each_case_and_the_pass_rate_by_version(page: object, llm_server, ui_app) -> None:
    llm_server.set_default(_answer)
    set_editor(page, CONFIG)
    expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    tab(page, "Run")
    page.locator("#checks-box").get_by_text("Checks").first.click()
    page.locator("#run-checks").click()
    status = page.locator("#checks-status")
    expect(status).to_contain_text("2 passed, 1 failed", timeout=SLOW)
    table = page.locator("#checks-table")
    expect(table).to_contain_text("names the topic")
    expect(table).to_contain_text("It only names reefs, nothing about coral.")
    page.locator("#checks-box").scroll_into_view_if_needed()
    shot(page, "checks")

    ui_app.services.history.flush()
    tab(page, "Analytics")
    page.locator("#an-span input").click()
    page.get_by_role("option", name="All time").click()
    page.locator("#an-refresh").click()
    chart = page.locator("#an-check-pass-rate")
    expect(chart).to_contain_text("Check pass rate by workflow version")
    expect(chart).to_contain_text("checked-page")
