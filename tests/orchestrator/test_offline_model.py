"""The embedded offline model, called through the real LiteLLM client like any provider."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from orchestrator.credentials import Credentials
from orchestrator.events import LLMCall
from orchestrator.llm import LiteLLMClient
from orchestrator.llm_types import LLMRequest, LLMResult, ModelParams
from orchestrator.offline_model import MODEL, register_offline_provider
from orchestrator.offline_synth import synthesize

OFFLINE = ModelParams(MODEL)
TASK = [{"role": "system", "content": "You are a news editor."},
        {"role": "user", "content": "Summarise today's climate news in three bullets"}]


def _call(request: LLMRequest) -> tuple[LLMResult, list[str], list[LLMCall]]:
    tokens: list[str] = []
    calls: list[LLMCall] = []
    client = LiteLLMClient(Credentials())
    result = asyncio.run(client.complete(request, on_token=tokens.append, on_attempt=calls.append))
    return result, tokens, calls


def test_answers_deterministically_and_mentions_the_task() -> None:
    first, tokens, calls = _call(LLMRequest(OFFLINE, TASK))
    second, _, _ = _call(LLMRequest(OFFLINE, TASK))
    assert first.text == second.text and "".join(tokens) == first.text
    assert first.text.startswith("[offline model]") and "climate news" in first.text
    assert first.synthetic and calls[0].synthetic and calls[0].provider == "offline"
    assert first.cost_usd == 0 and not first.unpriced
    assert first.tokens_in > 0 and first.tokens_out > 0 and len(tokens) > 5


def test_different_prompts_get_different_answers() -> None:
    other = [{"role": "user", "content": "Plan a trip to Lisbon"}]
    assert _call(LLMRequest(OFFLINE, TASK))[0].text != _call(LLMRequest(OFFLINE, other))[0].text


def test_structured_output_follows_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "headline": {"type": "string", "maxLength": 40},
            "bullets": {"type": "array", "items": {"type": "string"}},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "count": {"type": "integer", "minimum": 1, "maximum": 5},
            "urgent": {"type": "boolean"},
            "tone": {"enum": ["calm", "alarmed", "neutral"]},
            "source": {"$ref": "#/$defs/Source"},
        },
        "$defs": {"Source": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    result, _, _ = _call(LLMRequest(OFFLINE, TASK, json_schema=schema))
    value = json.loads(result.text)
    assert set(value) == set(schema["properties"])
    assert isinstance(value["headline"], str) and len(value["headline"]) <= 40
    assert 2 <= len(value["bullets"]) <= 4 and all(isinstance(b, str) for b in value["bullets"])
    assert 0 <= value["confidence"] <= 1 and 1 <= value["count"] <= 5 and isinstance(value["count"], int)
    assert isinstance(value["urgent"], bool) and value["tone"] in ("calm", "alarmed", "neutral")
    assert isinstance(value["source"]["name"], str)
    assert json.loads(_call(LLMRequest(OFFLINE, TASK, json_schema=schema))[0].text) == value


def test_calls_the_first_tool_then_answers_from_its_result() -> None:
    tools = [{"type": "function", "function": {
        "name": "search_news", "description": "Search news",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"},
                                                         "limit": {"type": "integer", "maximum": 10}},
                       "required": ["query"]}}}]
    result, _, _ = _call(LLMRequest(OFFLINE, TASK, tools=tools))
    assert [c.name for c in result.tool_calls] == ["search_news"] and result.text == ""
    args = json.loads(result.tool_calls[0].arguments)
    assert isinstance(args["query"], str) and 0 <= args["limit"] <= 10
    call = result.tool_calls[0]
    follow_up = [*TASK,
                 {"role": "assistant", "content": None, "tool_calls": [
                     {"id": call.id, "type": "function",
                      "function": {"name": call.name, "arguments": call.arguments}}]},
                 {"role": "tool", "tool_call_id": call.id, "content": "Glaciers retreat record"}]
    answer, _, _ = _call(LLMRequest(OFFLINE, follow_up, tools=tools))
    assert not answer.tool_calls and "Glaciers retreat record" in answer.text


def test_streams_with_a_small_delay_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    _call(LLMRequest(OFFLINE, TASK))  # warm up (imports)
    monkeypatch.setenv("GRAPHWRIGHT_OFFLINE_TOKEN_DELAY", "0.02")
    started = time.perf_counter()
    result, tokens, _ = _call(LLMRequest(OFFLINE, TASK))
    assert time.perf_counter() - started >= 0.02 * len(tokens)
    assert result.ttft_s is not None and result.ttft_s >= 0.02


def test_registration_is_idempotent() -> None:
    import litellm

    register_offline_provider()
    register_offline_provider()
    assert [p["provider"] for p in litellm.custom_provider_map].count("offline") == 1


def test_synthesis_is_a_pure_function_of_the_prompt() -> None:
    assert synthesize(TASK) == synthesize([dict(m) for m in TASK])
    assert synthesize(TASK).text != synthesize(TASK[:1] + [{"role": "user", "content": "other"}]).text
