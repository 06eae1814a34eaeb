"""In the browser: a past run chosen in Analytics runs again on another model (side by side with
its diff), and the session's calls are re-priced on another model. Screenshots for the README."""

from __future__ import annotations

import pytest

from testkit.replies import Reply
from tests.ui.conftest import RunningApp
from tests.ui.test_browser import (  # noqa: F401, F811 - fixtures
    SLOW,
    browser,
    expect,
    page,
    run_then_open_analytics,
    shot,
)

pytestmark = pytest.mark.browser


def test_a_run_replays_on_another_model_and_the_calls_are_repriced(page: object, ui_app: RunningApp,  # noqa: F811
                                                                   llm_server) -> None:
    runs = run_then_open_analytics(page, ui_app, llm_server, "The tide comes in twice a day.")
    page.get_by_text("Run again on another model (replay)").click()
    runs.locator("[role=gridcell]").filter(has_text="chat-built").first.click()
    expect(page.locator("#an-rp-run textarea")).not_to_have_value("")

    llm_server.reset()
    llm_server.script(Reply(text="Tides rise and fall twice daily."), model="gpt-4o-mini")
    page.locator("#an-rp-picks textarea").fill("write=openai/gpt-4o-mini")
    page.locator("#an-rp-go").click()
    result = page.locator("#an-rp-result")
    expect(result).to_contain_text("openai/test-model → openai/gpt-4o-mini", timeout=SLOW)
    expect(result.locator(".gw-diff-add")).to_contain_text("+Tides rise and fall twice daily.")
    expect(result.locator(".gw-diff-del")).to_contain_text("-The tide comes in twice a day.")
    assert len(llm_server.requests) == 1
    result.scroll_into_view_if_needed()
    shot(page, "analytics-replay")

    page.get_by_text("What would this have cost on another model?").click()
    page.locator("#an-rc-model textarea").fill("openai/gpt-4o")
    page.locator("#an-rc-go").click()
    expect(page.locator("#an-rc-note")).to_contain_text("on openai/gpt-4o", timeout=SLOW)
    expect(page.locator("#an-rc-note")).to_contain_text("Unpriced: openai/test-model")
    expect(page.locator("#an-rc-step")).to_contain_text("write")
    page.locator("#an-rc-step").scroll_into_view_if_needed()
    shot(page, "analytics-reprice")
