"""Model and tool output shown in the page can neither run script nor make the browser fetch anything.

The loopback model answers with the classic payloads — event-handler images, script tags, markdown
images and iframes pointing at a loopback sink, `javascript:` links — in the Design chat, in the
streamed run text, in a provider error and in a tool call. Headless Chromium then must have seen no
dialog, made no request to the sink (or to the payloads' relative URLs), and show the payload as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from testkit.replies import Reply, ToolCallSpec
from tests.hardening.conftest import Sink
from tests.ui.conftest import RunningApp

pytestmark = pytest.mark.browser


def payload(sink: Sink, tag: str) -> str:
    return (f"Intro {tag}. <img src=x{tag} onerror=\"alert('img-{tag}')\"> <script>alert('script-{tag}')</script> "
            f"![pixel]({sink.url}/leak-md-{tag}) <iframe src=\"{sink.url}/leak-iframe-{tag}\"></iframe> "
            f"[click me](javascript:alert('link-{tag}')) <a href=\"javascript:alert(1)\">a-{tag}</a> "
            f"<svg onload=\"alert('svg-{tag}')\"></svg> <img src=\"{sink.url}/leak-img-{tag}\"> "
            f"<style>@import url({sink.url}/leak-css-{tag});</style> <link rel=stylesheet href={sink.url}/leak-link-{tag}>")


@pytest.fixture
def watched(browser: Any, hardened_app: RunningApp, fresh_sink: Sink) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page that records every dialog and every request the browser makes."""
    from tests.hardening.browser_steps import open_app

    context, page = open_app(browser, hardened_app.url)
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    yield page, dialogs, requests
    context.close()


def _assert_inert(page: Any, dialogs: list[str], requests: list[str], sink: Sink, tag: str) -> None:
    page.wait_for_timeout(1000)  # give a payload time to fire
    assert dialogs == [], f"script ran: {dialogs}"
    assert sink.hits == [], f"the browser fetched from the sink: {sink.hits}"
    fetched = [u for u in requests if "leak-" in u or u.rstrip("/").endswith(f"/x{tag}")]
    assert fetched == [], fetched
    assert page.evaluate("document.querySelectorAll('iframe[src*=leak], script:not([src]):not([type])').length") \
        == page.evaluate("document.querySelectorAll('script:not([src]):not([type])').length")  # no new iframe


def test_the_design_chat_shows_hostile_model_text_as_text(watched: tuple[Any, list[str], list[str]],
                                                         llm_server: Any, fresh_sink: Sink) -> None:
    from tests.hardening.browser_steps import assistant_chat, use_model

    page, dialogs, requests = watched
    use_model(page, "openai/test-model")
    llm_server.script(Reply(text=payload(fresh_sink, "chat")))
    assistant_chat(page, "describe a workflow")
    chat = page.locator("#design-chat")
    assert "Intro chat." in chat.inner_text()
    assert chat.locator("iframe, script, svg[onload], img[onerror]").count() == 0
    assert chat.locator("a[href^='javascript']").count() == 0
    _assert_inert(page, dialogs, requests, fresh_sink, "chat")
    assert "<script>" in chat.inner_text() or "alert('script-chat')" in chat.inner_text(), "shown as text"


def test_the_run_trace_shows_hostile_model_and_tool_text_as_text(watched: tuple[Any, list[str], list[str]],
                                                                llm_server: Any, fresh_sink: Sink) -> None:
    from tests.hardening.browser_steps import run_config

    page, dialogs, requests = watched
    config = {
        "version": 1, "name": "hostile-output", "inputs": {"topic": {"type": "string"}},
        "tools": {"web": {"type": "http", "allow": ["https://example.com/*"]}},
        "agents": {"researcher": {"role": "Researcher", "model": "openai/test-model", "tools": ["web"]},
                   "writer": {"role": "Writer", "model": "openai/test-model"}},
        "steps": [{"id": "research", "type": "agent", "agent": "researcher", "prompt": "Research {{ inputs.topic }}"},
                  {"id": "write", "type": "agent", "agent": "writer", "prompt": "Write {{ steps.research.output }}"}],
    }
    llm_server.script(
        Reply(tool_calls=[ToolCallSpec("web", {"url": payload(fresh_sink, "toolarg")})]),
        Reply(text=payload(fresh_sink, "research")),
        Reply(fault="bad_request", message=payload(fresh_sink, "error")),
    )
    run_config(page, yaml.safe_dump(config, sort_keys=False), payload(fresh_sink, "input"), until="failed")
    timeline, tools = page.locator("#run-timeline"), page.locator("#run-tools")
    for area in (timeline, tools):
        assert area.locator("iframe, script, svg, img, a[href^='javascript'], style, link").count() == 0
    assert "onerror" in (tools.text_content() or ""), "the tool call is shown, as text"
    assert "Intro error." in (timeline.text_content() or "") + page.locator("#run-status").inner_text()
    _assert_inert(page, dialogs, requests, fresh_sink, "research")
