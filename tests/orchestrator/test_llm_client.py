"""LiteLLMClient over real HTTP to the loopback server: streaming, usage, cost, tools, JSON mode."""

from __future__ import annotations

import asyncio
import json

import pytest

from orchestrator.events import LLMCall
from orchestrator.llm import LiteLLMClient
from orchestrator.llm_types import LLMRequest, LLMResult, ModelParams
from testkit.llm_server import LLMServer
from testkit.replies import Reply, ToolCallSpec

HELLO = [{"role": "user", "content": "Say hello"}]


def _call(client: LiteLLMClient, request: LLMRequest) -> tuple[LLMResult, list[str], list[LLMCall]]:
    tokens: list[str] = []
    calls: list[LLMCall] = []
    result = asyncio.run(client.complete(request, on_token=tokens.append, on_attempt=calls.append))
    return result, tokens, calls


def test_streams_tokens_in_order(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="Hello there, how are you today?", chunk_delay=0.005))
    result, tokens, calls = _call(llm_client, LLMRequest(ModelParams("openai/test-model"), HELLO))
    assert tokens == ["Hello", " there,", " how", " are", " you", " today?"]
    assert result.text == "Hello there, how are you today?"
    assert result.ttft_s is not None and result.ttft_s <= result.latency_s
    assert [c.attempt for c in calls] == [1] and calls[0].error is None
    llm_server.assert_all_used()


def test_key_and_endpoint_go_with_the_call(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="ok"))
    _call(llm_client, LLMRequest(ModelParams("openai/gpt-4o-mini"), HELLO))
    sent = llm_server.requests[0]
    assert sent.model == "gpt-4o-mini" and sent.stream
    assert sent.headers["Authorization"] == f"Bearer {llm_client.credentials.keys['openai']}"
    assert sent.body["stream_options"] == {"include_usage": True}


def test_usage_and_cost_of_a_priced_model(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="fine", usage={"prompt_tokens": 1000, "completion_tokens": 500}))
    result, _, calls = _call(llm_client, LLMRequest(ModelParams("openai/gpt-4o-mini"), HELLO))
    assert (result.tokens_in, result.tokens_out) == (1000, 500)
    assert result.cost_usd > 0 and not result.unpriced and not result.synthetic
    assert calls[0].cost_usd == result.cost_usd and calls[0].provider == "openai"
    assert calls[0].tokens_in == 1000


def test_unknown_model_costs_nothing_and_is_flagged(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="fine", usage={"prompt_tokens": 10, "completion_tokens": 5}))
    result, _, calls = _call(llm_client, LLMRequest(ModelParams("openai/my-private-model"), HELLO))
    assert result.cost_usd == 0.0 and result.unpriced and calls[0].unpriced


def test_counts_tokens_when_the_provider_reports_no_usage(llm_client: LiteLLMClient,
                                                          llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="one two three four", usage=False))
    result, _, _ = _call(llm_client, LLMRequest(ModelParams("openai/gpt-4o-mini"), HELLO))
    assert result.tokens_in > 0 and result.tokens_out >= 4 and result.cost_usd > 0


def test_tool_calls_are_assembled_from_deltas(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="Let me check.", tool_calls=[
        ToolCallSpec("get_weather", {"city": "Paris", "unit": "celsius"}, id="call_w"),
        ToolCallSpec("get_time", {"tz": "Europe/Paris"}, id="call_t"),
    ]))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
             {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]
    result, _, _ = _call(llm_client, LLMRequest(ModelParams("openai/test-model"), HELLO, tools=tools))
    assert [(c.id, c.name) for c in result.tool_calls] == [("call_w", "get_weather"), ("call_t", "get_time")]
    assert json.loads(result.tool_calls[0].arguments) == {"city": "Paris", "unit": "celsius"}
    assert llm_server.requests[0].tools == tools


def test_invalid_tool_json_is_passed_through_raw(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    """The client does not judge arguments: the engine validates and repairs them."""
    llm_server.script(Reply(tool_calls=[{"name": "f", "arguments": {"a": 1}}], fault="bad_tool_json"))
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    result, _, _ = _call(llm_client, LLMRequest(ModelParams("openai/test-model"), HELLO, tools=tools))
    assert result.tool_calls[0].name == "f" and result.tool_calls[0].arguments.startswith('{"a": 1')


def test_json_schema_asks_for_json_mode_and_describes_the_schema(llm_client: LiteLLMClient,
                                                                 llm_server: LLMServer) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    llm_server.script(Reply.json({"title": "Hi"}))
    result, _, _ = _call(llm_client, LLMRequest(ModelParams("openai/gpt-4o-mini"), HELLO, json_schema=schema))
    assert json.loads(result.text) == {"title": "Hi"}
    sent = llm_server.requests[0]
    assert sent.body["response_format"] == {"type": "json_object"}
    assert sent.messages[0]["role"] == "system" and json.dumps(schema) in sent.messages[0]["content"]


def test_temperature_and_max_tokens_are_forwarded(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="ok"))
    _call(llm_client, LLMRequest(ModelParams("openai/test-model", temperature=0.2, max_tokens=64), HELLO))
    body = llm_server.requests[0].body
    assert body["temperature"] == 0.2 and body.get("max_tokens", body.get("max_completion_tokens")) == 64


def test_32_slow_calls_run_concurrently(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    """A sanity check that nothing serialises calls (not a benchmark: 32 × 0.2 s serial would be 6.4 s).

    Wall-clock bounds flake when the machine is shared, so the proof is the server's in-flight count.
    """
    llm_server.script(Reply(text="warm-up"))
    llm_server.script_many(Reply(text=f"answer {i}", latency=0.2) for i in range(32))
    request = LLMRequest(ModelParams("openai/test-model"), HELLO)

    async def run_all() -> tuple[list[LLMResult], float]:
        await llm_client.complete(request)  # imports LiteLLM and opens the connection pool
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(*(llm_client.complete(request) for _ in range(32)))
        return results, loop.time() - started

    results, elapsed = asyncio.run(run_all())
    assert sorted(r.text for r in results) == sorted(f"answer {i}" for i in range(32))
    assert llm_server.max_in_flight >= 24  # the server saw the calls overlap
    assert elapsed < 32 * 0.2  # faster than serial latency alone; ~0.5 s on an idle 2-core machine


def test_sessions_keep_their_own_keys(llm_server: LLMServer) -> None:
    """Two sessions calling at once: each request carries its own key, and os.environ none."""
    import os

    from orchestrator.credentials import Credentials

    llm_server.set_default("echo")
    alice = LiteLLMClient(Credentials(keys={"openai": "sk-alice-000000000000000000000"},
                                      api_bases={"openai": llm_server.base_url}))
    bob = LiteLLMClient(Credentials(keys={"openai": "sk-bob-1111111111111111111111"},
                                    api_bases={"openai": llm_server.base_url}))

    async def both() -> None:
        await asyncio.gather(*(client.complete(LLMRequest(ModelParams(f"openai/{name}"), HELLO))
                               for client, name in [(alice, "alice"), (bob, "bob")] * 4))

    asyncio.run(both())
    keys = {(r.model, r.headers["Authorization"]) for r in llm_server.requests}
    assert keys == {("alice", "Bearer sk-alice-000000000000000000000"),
                    ("bob", "Bearer sk-bob-1111111111111111111111")}
    assert "OPENAI_API_KEY" not in os.environ


def test_cancelling_a_call_stops_it_without_retries(llm_client: LiteLLMClient, llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="a b c d e f g h i j", chunk_delay=0.2))
    tokens: list[str] = []

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(llm_client.complete(
            LLMRequest(ModelParams("openai/test-model", retries=3), HELLO), on_token=tokens.append))
        while not tokens:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    assert 1 <= len(tokens) < 10 and len(llm_server.requests) == 1


def test_a_failing_token_consumer_is_not_mistaken_for_a_provider_error(llm_client: LiteLLMClient,
                                                                       llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="one two"))

    def broken(_: str) -> None:
        raise KeyError("ui bug")

    with pytest.raises(KeyError, match="ui bug"):
        asyncio.run(llm_client.complete(LLMRequest(ModelParams("openai/test-model", retries=3), HELLO),
                                        on_token=broken))
    assert len(llm_server.requests) == 1
