"""Analytics' replay and re-pricing, through the public endpoints of a real app (and the mappers)."""

from __future__ import annotations

import pytest
from gradio_client import Client

from history.replay_compare import Comparison, Side, StepComparison
from tests.ui.conftest import RunningApp
from tests.ui.test_endpoints import WORKFLOW, _run
from ui.replay_view import comparison_html


def _my_last_run(client: Client) -> str:
    *_rest, = client.predict("All time", "(any)", "(any)", "(any)", api_name="/analytics")
    return str(_rest[6]["data"][0][0])


def test_a_replay_reruns_the_chosen_step_on_another_model_for_its_owner_only(ui_app: RunningApp, llm_server) -> None:
    llm_server.set_default("echo")
    mine, theirs = Client(ui_app.url, verbose=False), Client(ui_app.url, verbose=False)
    _run(mine, WORKFLOW, topic="tides")
    ui_app.services.history.flush()
    run_id = _my_last_run(mine)
    llm_server.reset()
    llm_server.set_default("echo")

    html = mine.predict(run_id, "write=openai/gpt-4o-mini", False, api_name="/rerun")

    assert [r.model for r in llm_server.requests] == ["gpt-4o-mini"]
    assert "<td>write</td>" in html and "openai/test-model → openai/gpt-4o-mini" in html
    assert "<td>unpriced → $0.0000" in html  # the test model has no price: never shown as $0
    assert f"Source run <code>{run_id}</code>" in html
    with pytest.raises(Exception, match=f"no run `{run_id}` among your runs"):
        theirs.predict(run_id, "write=openai/gpt-4o-mini", False, api_name="/rerun")
    assert len(llm_server.requests) == 1


def test_repricing_names_the_unpriced_model_and_prices_the_alternative(ui_app: RunningApp, llm_server) -> None:
    llm_server.set_default("echo")
    client = Client(ui_app.url, verbose=False)
    _run(client, WORKFLOW, topic="prices")
    ui_app.services.history.flush()
    note, by_day, by_step = client.predict("openai/gpt-4o", "All time", "(any)", "(any)", "(any)",
                                           api_name="/reprice")
    assert "on `openai/gpt-4o`" in note
    assert "Unpriced: `openai/test-model`" in note and "unknown, not 0" in note
    assert by_day["headers"][-2:] == ["actual", "on openai/gpt-4o"]
    assert by_day["data"][0][-2] == "unknown" and by_day["data"][0][-1].startswith("$")
    assert by_step["data"][0][:2] == ["echo-test", "write"]
    with pytest.raises(Exception, match="`nope/nothing` has no per-token price"):
        client.predict("nope/nothing", "All time", "(any)", "(any)", "(any)", api_name="/reprice")


def test_the_comparison_shows_before_after_and_a_marked_diff() -> None:
    before = Side("openai/gpt-4o", 10, 5, 0.001, 1.5, "line one\nold line", "ok")
    after = Side("openai/gpt-4o-mini", 10, 4, 0.0001, 0.5, "line one\nnew <line>", "ok")
    html = comparison_html(Comparison("src", "new", [StepComparison("draft", "item 1", before, after)], 0.01, 0.0001))
    assert "<td>openai/gpt-4o → openai/gpt-4o-mini</td>" in html and "<td>item 1</td>" in html
    assert "<span class='gw-diff-del'>-old line</span>" in html and "<span class='gw-diff-hdr'>--- before" in html
    assert "<span class='gw-diff-add'>+new &lt;line&gt;</span>" in html  # outputs are escaped
