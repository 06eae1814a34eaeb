"""In Chromium: two versions of a workflow, each run once, opened side by side in Analytics (what
changed and how their runs compare), and the Design draft diffed against an earlier version."""

from __future__ import annotations

import pytest

from testkit.replies import Reply
from tests.ui.conftest import RunningApp
from tests.ui.test_browser import ARTIFACTS, SHOTS, SLOW, browser, expect, page, run_status, set_editor, tab  # noqa: F401

pytestmark = pytest.mark.browser

V1 = """version: 2
name: two-versions
agents:
  writer: {role: Writer, model: openai/gpt-4o}
steps:
  - id: draft
    type: agent
    agent: writer
    prompt: Write a haiku about tides.
  - id: polish
    type: loop
    max_iterations: 3
    until: "true"
    steps:
      - {id: edit, type: agent, agent: writer, prompt: "Polish {{ steps.draft.output }}"}
"""
V2 = V1.replace("model: openai/gpt-4o}", "model: openai/gpt-4o-mini}").replace("max_iterations: 3", "max_iterations: 5")


def _run(page: object, config: str) -> None:  # noqa: F811
    tab(page, "Design")
    set_editor(page, config)
    expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    tab(page, "Run")
    page.locator("#run-start").click()
    expect(run_status(page)).to_contain_text("finished", timeout=SLOW)


def _pick(page: object, dropdown: str, option: str, *, last: bool = False) -> None:  # noqa: F811
    page.locator(f"{dropdown} input").click()
    options = page.get_by_role("option").filter(has_text=option)
    (options.last if last else options.first).click()


def test_two_versions_side_by_side(page: object, ui_app: RunningApp, llm_server) -> None:  # noqa: F811
    llm_server.set_default(lambda _request: Reply(text="Moon pulls the sea."))
    _run(page, V1)
    _run(page, V2)
    ui_app.services.history.flush()
    tab(page, "Analytics")
    page.locator("#an-span input").click()
    page.get_by_role("option", name="All time").click()
    page.locator("#an-refresh").click()
    expect(page.locator("#an-versions")).to_contain_text("two-versions")
    runs = page.locator("#an-runs")
    expect(runs).to_contain_text(" · ")  # each run shows its version: short hash and first-seen time
    _pick(page, "#an-version-a", "two-versions", last=True)  # choices are newest first: A is the older
    page.keyboard.press("Escape")
    _pick(page, "#an-version-b", "two-versions")
    page.locator("#an-compare-open").click()
    table = page.locator("#an-compare")
    expect(table).to_contain_text("Avg cost / run")
    expect(table).to_contain_text("Latency p95")
    changed = page.locator("#an-compare-diff")
    expect(changed).to_contain_text("now uses", timeout=SLOW)
    expect(changed).to_contain_text("times instead of")
    expect(changed).to_contain_text("Estimated cost per run")
    expect(changed).to_contain_text("may run 5 times instead of 3")
    panel = page.locator("#an-versions-panel")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SHOTS / "versions-side-by-side.png"))  # the README's picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "versions-analytics.png"), full_page=True)  # the whole tab

    tab(page, "Design")
    set_editor(page, V2.replace("max_iterations: 5", "max_iterations: 7"))
    expect(page.locator("#yaml-issues")).to_contain_text("Valid")
    _pick(page, "#design-version-pick", "two-versions", last=True)
    page.locator("#design-version-diff").click()
    out = page.locator("#draft-changed")
    expect(out).to_contain_text("may run 7 times instead of 3", timeout=SLOW)  # the oldest version: V1
    expect(out).to_contain_text("openai/gpt-4o-mini")

    # Another visitor cannot open these versions, even knowing their hashes.
    from gradio_client import Client

    hashes = [r[0] for r in ui_app.services.history.read_cursor().execute(
        "SELECT hash FROM config_versions WHERE workflow = 'two-versions'").fetchall()]
    assert len(hashes) == 2
    stranger = Client(ui_app.url, verbose=False)
    with pytest.raises(Exception, match="not in your run history|not in the list of choices"):
        stranger.predict(hashes[0], hashes[1], "All time", api_name="/compare_versions")
    with pytest.raises(Exception, match="not in your run history|not in the list of choices"):
        stranger.predict(hashes[0], V2, api_name="/diff_draft_against_version")
