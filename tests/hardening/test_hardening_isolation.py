"""Twenty API clients and two browsers at once: nobody sees another's chat, config, runs or analytics.

Each client carries its own marker string through everything it does (its chat message, the
workflow name the model proposes, the run input, the model's answer); the loopback model answers
each request with the marker it finds in it. Every output any client receives is then searched for
every other client's marker.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml
from gradio_client import Client

from testkit.llm_server import RecordedRequest
from testkit.replies import Reply, ToolCallSpec
from tests.hardening.conftest import run_args
from tests.ui.conftest import RunningApp

CLIENTS = 20
MARK_RE = re.compile(r"mark\d\dz[0-9a-f]{6}")


def _config(marker: str) -> dict[str, Any]:
    return {
        "version": 1, "name": f"iso-{marker}", "inputs": {"topic": {"type": "string"}},
        "agents": {"writer": {"role": "Writer", "model": "openai/test-model"}},
        "steps": [{"id": "write", "type": "agent", "agent": "writer", "prompt": "Write about {{ inputs.topic }}"}],
    }


def _answer(req: RecordedRequest) -> Reply:
    """Reply with the marker of the request (the last one in it: the current message's)."""
    found = MARK_RE.findall(str(req.messages))
    marker = found[-1] if found else "nomark"
    if req.tools:
        return Reply(text=f"Config for {marker}.", tool_calls=[ToolCallSpec("set_config", {"config": _config(marker)})])
    return Reply(text=f"Answer for {marker}.", latency=0.05)


def _session(url: str, marker: str, history: Any) -> str:
    """One client's whole visit; returns everything it was shown."""
    client = Client(url, verbose=False, httpx_kwargs={"timeout": 120})  # a busy 2-core box
    seen = [repr(client.predict(f"A writer workflow, tag {marker}", "Assistant (LLM)", api_name="/chat"))]
    config = yaml.safe_dump(_config(marker), sort_keys=False)
    seen.append(repr(client.predict(*run_args(config, topic=marker), api_name="/run")))
    deadline = time.monotonic() + 30
    while True:
        history.flush()
        shown = client.predict("All time", "(any)", "(any)", "(any)", api_name="/analytics")
        seen.append(repr(shown))
        if f"iso-{marker}" in repr(shown) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert f"iso-{marker}" in repr(shown), f"{marker}: own run never appeared in analytics"
    seen.append(repr(client.predict("SELECT r.workflow, e.payload FROM runs r JOIN events e USING (run_id)",
                                    api_name="/sql")))
    return "\n".join(seen)


def _browser_visit(page: Any, marker: str, key: str | None) -> None:
    from tests.hardening.browser_steps import assistant_chat, run_config, set_key, use_model

    if key:
        set_key(page, "openai", key)
    use_model(page, "openai/test-model")
    assistant_chat(page, f"A writer workflow, tag {marker}")
    run_config(page, yaml.safe_dump(_config(marker), sort_keys=False), marker)


def _browser_analytics(page: Any) -> str:
    from tests.hardening.browser_steps import tab

    tab(page, "Analytics")
    page.locator("#an-span input").click()
    page.get_by_role("option", name="All time").click()
    page.locator("#an-refresh").click()
    page.wait_for_timeout(1500)
    return page.content()


@pytest.mark.browser
def test_twenty_api_clients_and_two_browsers_at_once_see_only_their_own_data(
    hardened_app: RunningApp, browser: Any, llm_server: Any
) -> None:
    """The API clients run in threads while two people use the page (Playwright's sync API stays in
    this thread, so the two browser sessions take turns with each other, not with the clients)."""
    import secrets

    from tests.hardening.browser_steps import open_app

    llm_server.set_default(_answer)
    markers = [f"mark{i:02d}z{secrets.token_hex(3)}" for i in range(CLIENTS)]
    marker_a, marker_b = f"mark{CLIENTS:02d}z{secrets.token_hex(3)}", f"mark{CLIENTS + 1:02d}z{secrets.token_hex(3)}"
    key_a = "sk-browserA-7a6b5c4d3e2f1a0b9c8d7e6f"
    ctx_a, page_a = open_app(browser, hardened_app.url)
    ctx_b, page_b = open_app(browser, hardened_app.url)
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(_session, hardened_app.url, m, hardened_app.services.history) for m in markers]
        _browser_visit(page_a, marker_a, key_a)
        _browser_visit(page_b, marker_b, None)
        seen = [f.result(timeout=240) for f in futures]
    hardened_app.services.history.flush()
    seen += [_browser_analytics(page_a), _browser_analytics(page_b)]
    markers += [marker_a, marker_b]
    ctx_a.close()
    ctx_b.close()

    assert llm_server.max_in_flight > 1, "the clients should have overlapped"
    leaks = []
    for mine, text in zip(markers, seen, strict=True):
        assert f"iso-{mine}" in text, f"{mine} never saw its own run"
        others = set(MARK_RE.findall(text)) - {mine}
        if others:
            leaks.append(f"{mine} saw {sorted(others)}")
    assert not leaks, "\n".join(leaks)
    assert key_a not in seen[-1] and key_a not in seen[-2]
    sent_with_a = [r for r in llm_server.requests if key_a in r.headers.get("Authorization", "")]
    assert sent_with_a and all(marker_a in str(r.messages) for r in sent_with_a), "A's key served only A"
    assert threading.active_count() < 200
