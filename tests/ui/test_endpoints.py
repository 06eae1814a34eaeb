"""The public endpoints, called the way any API client would (gradio_client), on a real app."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gradio_client import Client

from testkit.replies import Reply
from tests.ui.conftest import TEST_API_KEY, RunningApp

EXPECTED_PUBLIC = {"/chat", "/confirm_change", "/reject_change", "/load_example", "/run", "/run_checks", "/approve", "/reject",
                   "/resume", "/analytics", "/export", "/sql", "/rerun", "/reprice"}

WORKFLOW = """\
version: 1
name: echo-test
inputs:
  topic: {type: string}
agents:
  writer: {role: Writer, model: openai/test-model}
steps:
  - {id: write, type: agent, agent: writer, prompt: "Write about {{ inputs.topic }}"}
"""


def _client(app: RunningApp) -> Client:
    return Client(app.url, verbose=False)


def _run(client: Client, config: str, topic: str = "tides", allow: bool = False) -> tuple:
    slots = [topic] + [""] * 7
    flags = [False] * 8
    return client.predict(config, "", allow, "", *slots, *flags, api_name="/run")


def test_only_intended_endpoints_are_public(ui_app: RunningApp) -> None:
    api = _client(ui_app).view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == EXPECTED_PUBLIC
    assert not api["unnamed_endpoints"]


def test_healthz_answers_json(ui_app: RunningApp) -> None:
    import httpx

    reply = httpx.get(ui_app.url + "healthz")
    assert reply.status_code == 200 and reply.json()["status"] == "ok"


def _text(content: object) -> str:
    """A chat message's text, whether it came back as a string or as content blocks."""
    if isinstance(content, list):
        return "".join(_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return str(content)


def guided_answer(last_reply: str) -> str:
    """Accept every default ("skip" where the default is to skip, e.g. the model question)."""
    return "skip" if "default: **skip**" in last_reply else "yes"


def test_guided_interview_builds_a_valid_config(ui_app: RunningApp) -> None:
    client = _client(ui_app)
    out = client.predict("1", "Guided interview", api_name="/chat")
    for _ in range(20):
        last = _text(out[0][-1]["content"])
        if "Done" in last:
            break
        out = client.predict(guided_answer(last), "Guided interview", api_name="/chat")
    chat, _msg, yaml_text, issues = out[:4]
    assert "Done" in _text(chat[-1]["content"])
    assert "version: 2" in yaml_text and "Valid" in issues


def test_run_endpoint_streams_the_model_text_and_records_history(ui_app: RunningApp, llm_server) -> None:
    llm_server.script(Reply(text="Tides follow the moon."))
    status, timeline, current, _tools, output, *_ = _run(_client(ui_app), WORKFLOW)
    assert "finished" in status and "<b>write</b>" in timeline
    assert "Tides follow the moon." in current and "Tides follow the moon." in output
    llm_server.assert_all_used()
    assert llm_server.requests[0].headers["Authorization"].endswith(TEST_KEY_TAIL)


TEST_KEY_TAIL = "ABCDEF"


def test_run_endpoint_validates_the_config_itself(ui_app: RunningApp) -> None:
    """A refusal is the trace's message (it stays on the page), not an error toast."""
    status, timeline, *_ = _run(_client(ui_app), WORKFLOW.replace("steps:", "stepz:"))
    assert status.startswith("**Not started.**") and "line 7, col 1: unknown key `stepz`" in status
    assert "No steps yet" in timeline


def test_run_endpoint_refuses_raised_powers_without_consent(ui_app: RunningApp) -> None:
    powered = WORKFLOW.replace("model: openai/test-model}", "model: openai/test-model, tools: [calc]}") + \
        "tools:\n  calc: {type: python}\n"
    status, *_ = _run(_client(ui_app), powered)
    assert "Not started" in status and "raises powers" in status


def test_run_endpoint_checks_the_inputs(ui_app: RunningApp) -> None:
    status, *_ = _run(_client(ui_app), WORKFLOW, topic="")
    assert "Not started" in status and "'topic' is required" in status


def test_run_endpoint_refuses_an_input_holding_the_apps_key(ui_app: RunningApp, llm_server) -> None:
    with pytest.raises(Exception, match="input `topic` contains an API key"):
        _run(_client(ui_app), WORKFLOW, topic=f"tides {TEST_API_KEY}")
    assert llm_server.requests == []


def test_analytics_show_only_the_callers_runs(ui_app: RunningApp, llm_server) -> None:
    llm_server.set_default("echo")
    mine, theirs = _client(ui_app), _client(ui_app)
    _run(mine, WORKFLOW, topic="mine")
    ui_app.services.history.flush()
    kpis_mine, *_rest = mine.predict("All time", "(any)", "(any)", "(any)", api_name="/analytics")
    kpis_theirs, *_ = theirs.predict("All time", "(any)", "(any)", "(any)", api_name="/analytics")
    runs_mine = _rest[5]
    runs_theirs = _[5]
    assert ">Runs<" in kpis_mine and len(runs_mine["data"]) >= 1
    assert runs_theirs["data"] == [] or runs_theirs["data"] == [[""] * len(runs_theirs["headers"])]
    note, table = theirs.predict("SELECT count(*) AS n FROM runs", api_name="/sql")
    assert table["data"] == [[0]]


def test_approval_pauses_the_run_and_the_approve_endpoint_finishes_it(ui_app: RunningApp) -> None:
    client = _client(ui_app)
    client.predict("human_approval", api_name="/load_example")
    config = (Path(__file__).resolve().parents[2] / "examples" / "human_approval.yaml").read_text()
    status, *_rest = client.predict(config, "", False, "", *[""] * 8, *[False] * 8, api_name="/run")
    approval_md = _rest[-1]
    assert "waiting" in status and "sign_off" in approval_md
    status, timeline, *_ = client.predict("Looks good", api_name="/approve")
    assert "finished" in status and "final" in timeline
    with pytest.raises(Exception, match="No run of yours is waiting"):
        client.predict("again", api_name="/approve")


def test_a_paused_run_is_listed_resumed_and_exported(ui_app: RunningApp, tmp_path: Path) -> None:
    import re

    client = _client(ui_app)
    config = (Path(__file__).resolve().parents[2] / "examples" / "human_approval.yaml").read_text()
    status, *_ = client.predict(config, "", False, "", *[""] * 8, *[False] * 8, api_name="/run")
    run_id = re.search(r"run `([0-9a-f]+)`", status).group(1)
    ui_app.services.history.flush()
    status, *rest = client.predict(run_id, api_name="/resume")
    assert "waiting" in status and "sign_off" in rest[-1]
    status, *_ = client.predict("", api_name="/reject")
    assert "cancelled" in status or "finished" in status
    ui_app.services.history.flush()
    path = client.predict("csv", "runs", "All time", "(any)", "(any)", "(any)", api_name="/export")
    assert run_id in Path(path).read_text()
    with pytest.raises(Exception, match="not one of yours"):
        _client(ui_app).predict(run_id, api_name="/resume")


def test_one_sessions_long_run_does_not_block_another(ui_app: RunningApp, llm_server) -> None:
    llm_server.script(Reply(text=" ".join(["slow"] * 40), tokens_per_second=10), model="slow-model")
    llm_server.script(Reply(text="quick answer"), model="fast-model")
    slow_config = WORKFLOW.replace("openai/test-model", "openai/slow-model")
    fast_config = WORKFLOW.replace("openai/test-model", "openai/fast-model")
    slow_client, fast_client = _client(ui_app), _client(ui_app)
    slow_job = slow_client.submit(slow_config, "", False, "", "a", *[""] * 7, *[False] * 8, api_name="/run")
    for _ in range(100):  # wait until the slow run is streaming
        if llm_server.requests:
            break
        time.sleep(0.1)
    status, *_ = _run(fast_client, fast_config)
    assert "finished" in status
    assert not slow_job.done(), "the quick run had to wait for the slow one"
    assert "finished" in slow_job.result()[0]


def test_a_refused_query_replaces_the_results_with_its_reason(ui_app: RunningApp) -> None:
    """No toast that fades: the note says why, where the rows were, and the old rows are gone."""
    client = Client(ui_app.url, verbose=False)
    note, table = client.predict("SELECT 1 AS one", api_name="/sql")
    assert note.startswith("1 row") and table["data"] == [[1]]
    note, table = client.predict("DELETE FROM runs", api_name="/sql")
    assert note.startswith("**The query did not run.**") and "only SELECT queries" in note
    assert "rows in" not in note and table["data"] in ([], [[]])
