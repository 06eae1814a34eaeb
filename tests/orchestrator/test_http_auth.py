"""Authenticated `http` tools against a loopback API that checks what it receives.

The secret is named in the config, bound to the API's host, and resolved from the session's
Settings or the environment at call time; it reaches the API and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from engine_testing import FAKE_KEYS, collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.policy import Policy
from orchestrator.tools.http_request import PreparedRequest, prepare
from orchestrator.tools.http_tool import HttpRefused, send
from schemas.models import HttpTool
from testkit.search_api import SearchApi

KEY = "loopback-search-key-7c1e5b2d8f4a"
LOOPBACK = Policy(allow_private_http=True)


@pytest.fixture
def api() -> Iterator[SearchApi]:
    with SearchApi(KEY) as server:
        yield server


def search_workflow(base: str, *, bound: str = "127.0.0.1") -> str:
    return f"""
        version: 2
        name: searcher
        default_model: openai/gpt-4o-mini
        inputs: {{question: {{default: tides}}}}
        tools:
          search:
            type: http
            url: {base}/search
            allow: ['{base}/search']
            methods: [POST]
            headers: {{X-API-KEY: '{{{{ secrets.SEARCH_KEY }}}}'}}
            query: {{hl: en}}
            secrets: {{SEARCH_KEY: [{bound}]}}
            params:
              q: {{type: string, description: The query.}}
              num: {{type: integer, required: false}}
        agents: {{a: {{role: Researcher, tools: [search]}}}}
        steps: [{{id: answer, type: agent, agent: a, prompt: 'Research {{{{ inputs.question }}}}'}}]
    """


def test_the_api_receives_the_secret_header_the_json_body_and_the_query(api: SearchApi, make_engine) -> None:
    wf = workflow(search_workflow(api.url))
    client = ScriptedClient(Say(tool_calls=[("search", {"q": "moon tides", "num": 2})]), Say("Tides follow the moon."))
    engine = make_engine(client, policy=LOOPBACK, credentials=FAKE_KEYS.with_secret("SEARCH_KEY", KEY))
    events = collect(engine.run(wf, {}))

    sent = api.requests[0]
    assert sent.method == "POST" and sent.path == "/search" and sent.query == {"hl": "en"}
    assert sent.headers["X-API-KEY"] == KEY and sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {"q": "moon tides", "num": 2}  # the integer stays an integer
    result = of_type(events, "tool_result")[0]
    assert result.ok and '"title": "About moon tides"' in result.result
    assert events[-1].type == "run_finished" and events[-1].output == "Tides follow the moon."


def test_the_model_sees_the_typed_params_but_not_the_url_headers_or_secret(api: SearchApi, make_engine) -> None:
    wf = workflow(search_workflow(api.url))
    client = ScriptedClient(Say("No search needed."))
    collect(make_engine(client, policy=LOOPBACK, credentials=FAKE_KEYS.with_secret("SEARCH_KEY", KEY)).run(wf, {}))
    spec = client.requests[0].tools[0]["function"]
    assert spec["parameters"] == {"type": "object", "required": ["q"], "properties": {
        "q": {"type": "string", "description": "The query."}, "num": {"type": "integer"}}}
    assert KEY not in repr(client.requests) and "X-API-KEY" not in repr(client.requests)


def test_the_secret_comes_from_the_environment_when_settings_have_none(
        api: SearchApi, make_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_KEY", KEY)
    wf = workflow(search_workflow(api.url))
    client = ScriptedClient(Say(tool_calls=[("search", {"q": "x"})]), Say("done"))
    events = collect(make_engine(client, policy=LOOPBACK).run(wf, {}))
    assert of_type(events, "tool_result")[0].ok and api.requests[0].headers["X-API-KEY"] == KEY


def test_a_missing_secret_fails_before_any_step_and_names_the_variable(
        api: SearchApi, make_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARCH_KEY", raising=False)
    client = ScriptedClient()
    events = collect(make_engine(client, policy=LOOPBACK).run(workflow(search_workflow(api.url)), {}))
    failed = events[-1]
    assert failed.type == "run_failed" and failed.reason == "config"
    assert "SEARCH_KEY" in failed.message and "environment variable" in failed.message and "Settings" in failed.message
    assert not of_type(events, "step_started") and client.requests == [] and api.requests == []


def test_a_secret_is_never_sent_to_a_host_it_is_not_bound_to(api: SearchApi, make_engine) -> None:
    wf = workflow(search_workflow(api.url, bound="127.0.0.1:1"))  # bound to another port
    client = ScriptedClient(Say(tool_calls=[("search", {"q": "x"})]), Say("gave up"))
    events = collect(make_engine(client, policy=LOOPBACK, credentials=FAKE_KEYS.with_secret("SEARCH_KEY", KEY)).run(wf, {}))
    result = of_type(events, "tool_result")[0]
    assert not result.ok and "may only be sent to 127.0.0.1:1" in result.result
    assert api.requests == []


def test_a_redirect_to_an_unbound_host_is_refused_before_the_secret_leaves(api: SearchApi) -> None:
    other = api.url.replace("127.0.0.1", "localhost")  # the same server under a name the secret is not bound to
    tool = HttpTool(type="http", allow=[f"{api.url}/*", f"{other}/*"], headers={"X-API-KEY": "{{ secrets.KEY }}"},
                    secrets={"KEY": ["127.0.0.1"]}, url=f"{api.url}/redirect?to={other}/search")
    request = prepare(tool, {}, {"KEY": KEY})
    with pytest.raises(HttpRefused, match="secret `KEY` may only be sent to 127.0.0.1, not to `localhost`"):
        asyncio.run(send(tool, request, allow_private=True))
    assert [r.path for r in api.requests] == ["/redirect"]  # the second hop never happened


def test_an_api_that_echoes_the_key_back_has_it_redacted_before_the_model_sees_it(
        api: SearchApi, make_engine) -> None:
    wf = workflow(search_workflow(api.url).replace("url: " + api.url + "/search", "url: " + api.url + "/echo")
                  .replace(f"allow: ['{api.url}/search']", f"allow: ['{api.url}/echo']"))
    client = ScriptedClient(Say(tool_calls=[("search", {"q": "x"})]), Say("done"))
    events = collect(make_engine(client, policy=LOOPBACK, credentials=FAKE_KEYS.with_secret("SEARCH_KEY", KEY)).run(wf, {}))
    assert api.requests[0].headers["X-API-KEY"] == KEY
    assert KEY not in repr(events) and KEY not in repr(client.requests)
    assert "[REDACTED]" in of_type(events, "tool_result")[0].result


def test_wrong_arguments_go_back_to_the_model_without_a_request(api: SearchApi, make_engine) -> None:
    wf = workflow(search_workflow(api.url))
    client = ScriptedClient(Say(tool_calls=[("search", {"q": 3})]), Say(tool_calls=[("search", {"query": "x"})]),
                            Say("done"))
    events = collect(make_engine(client, policy=LOOPBACK, credentials=FAKE_KEYS.with_secret("SEARCH_KEY", KEY)).run(wf, {}))
    texts = [r.result for r in of_type(events, "tool_result")]
    assert texts == ["error: `q` must be a string, not 3", "error: unknown argument(s) query; this tool takes q, num"]
    assert api.requests == []


def test_get_params_no_template_reads_go_to_the_query_string_and_url_params_are_escaped() -> None:
    tool = HttpTool(type="http", allow=["https://api.example.com/v1/*"], url="https://api.example.com/v1/items/{{ params.id }}",
                    params={"id": {"type": "string"}, "limit": {"type": "integer"}})
    request = prepare(tool, {"id": "a/b c", "limit": 5}, {})
    assert request == PreparedRequest("GET", "https://api.example.com/v1/items/a%2Fb%20c?limit=5", {}, None, {},
                                      "https://api.example.com/v1/items/a%2Fb%20c")
