"""The loopback server speaks OpenAI's wire format and plays scripted replies and faults in order."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import aiohttp
import httpx
import pytest

from testkit.llm_server import LLMServer, RecordedRequest
from testkit.replies import Reply, ToolCallSpec

USER = [{"role": "user", "content": "Say hello"}]


def _post(server: LLMServer, timeout: float = 5.0, **body: object) -> httpx.Response:
    payload = {"model": "test-model", "messages": USER, **body}
    return httpx.post(f"{server.base_url}/chat/completions", json=payload, timeout=timeout,
                      headers={"Authorization": "Bearer sk-from-test"})


def _sse(response: httpx.Response) -> list[dict | str]:
    events: list[dict | str] = []
    for line in response.text.splitlines():
        if line.startswith("data: "):
            data = line[len("data: "):]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_non_streamed_reply_has_message_and_usage(llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="Hello there"))
    body = _post(llm_server).json()
    assert body["choices"][0]["message"]["content"] == "Hello there"
    assert body["usage"]["completion_tokens"] == 2
    assert llm_server.requests[0].headers["Authorization"] == "Bearer sk-from-test"
    llm_server.assert_all_used()


def test_stream_sends_tokens_then_usage_chunk_then_done(llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="one two three", usage={"prompt_tokens": 7, "completion_tokens": 3}))
    events = _sse(_post(llm_server, stream=True, stream_options={"include_usage": True}))
    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] == 10
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-2] if e["choices"])
    assert text == "one two three"


def test_stream_without_include_usage_has_no_usage_chunk(llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="hi"))
    events = _sse(_post(llm_server, stream=True))
    assert all(e == "[DONE]" or e["choices"] for e in events)


def test_tool_calls_stream_as_openai_deltas(llm_server: LLMServer) -> None:
    llm_server.script(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="call_1")]))
    events = [e for e in _sse(_post(llm_server, stream=True)) if e != "[DONE]"]
    deltas = [d for e in events for d in e["choices"][0]["delta"].get("tool_calls", [])]
    assert deltas[0]["id"] == "call_1" and deltas[0]["function"]["name"] == "get_weather"
    args = "".join(d["function"]["arguments"] for d in deltas)
    assert json.loads(args) == {"city": "Paris"}
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_bad_tool_json_fault_sends_unparseable_arguments(llm_server: LLMServer) -> None:
    llm_server.script(Reply(tool_calls=[{"name": "f", "arguments": {"a": 1}}], fault="bad_tool_json"))
    args = _post(llm_server).json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(args)


def test_replies_play_in_order_and_per_model_scripts_route(llm_server: LLMServer) -> None:
    llm_server.script_many([Reply(text="first"), Reply(text="second")])
    llm_server.script(Reply(text="for big"), model="big-model")
    assert _post(llm_server, model="big-model").json()["choices"][0]["message"]["content"] == "for big"
    assert _post(llm_server).json()["choices"][0]["message"]["content"] == "first"
    assert _post(llm_server).json()["choices"][0]["message"]["content"] == "second"
    assert [r.model for r in llm_server.requests] == ["big-model", "test-model", "test-model"]


def test_empty_script_fails_loudly_by_default(llm_server: LLMServer) -> None:
    response = _post(llm_server)
    assert response.status_code == 500 and "unexpected request" in response.text
    with pytest.raises(AssertionError, match="unexpected requests"):
        llm_server.assert_all_used()


def test_assert_all_used_reports_leftovers(llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="never asked for"))
    with pytest.raises(AssertionError, match="never requested"):
        llm_server.assert_all_used()


def test_echo_and_callable_defaults(llm_server: LLMServer) -> None:
    llm_server.set_default("echo")
    assert _post(llm_server).json()["choices"][0]["message"]["content"] == "echo: Say hello"

    def answer(request: RecordedRequest) -> Reply:
        return Reply.json({"model": request.model, "n": len(request.messages)})

    llm_server.set_default(answer)
    assert json.loads(_post(llm_server).json()["choices"][0]["message"]["content"]) == {
        "model": "test-model", "n": 1}


@pytest.mark.parametrize(("fault", "status"), [("rate_limit", 429), ("server_error", 500),
                                               ("unavailable", 503), ("auth", 401), ("bad_request", 400)])
def test_http_faults(llm_server: LLMServer, fault: str, status: int) -> None:
    llm_server.script(Reply(fault=fault, retry_after=2))  # type: ignore[arg-type]
    response = _post(llm_server)
    assert response.status_code == status
    if fault == "rate_limit":
        assert response.headers["Retry-After"] == "2"
    if fault == "auth":
        assert "sk-from-test" in response.json()["error"]["message"]  # echoes the key, like some providers


def test_connection_faults(llm_server: LLMServer) -> None:
    llm_server.script(Reply(fault="disconnect"), Reply(text="a b c d e f", fault="cut_stream"),
                      Reply(fault="hang", hang_seconds=5))
    with pytest.raises(httpx.RemoteProtocolError):
        _post(llm_server)
    with pytest.raises(httpx.RemoteProtocolError):
        _post(llm_server, stream=True)
    with pytest.raises(httpx.ReadTimeout):
        _post(llm_server, timeout=0.3)


def test_latency_and_tokens_per_second(llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="a b c d e", latency=0.2, tokens_per_second=50))
    started = time.perf_counter()
    _post(llm_server, stream=True)
    elapsed = time.perf_counter() - started
    assert 0.2 + 5 * 0.02 <= elapsed < 2.0


def test_probabilistic_faults_are_seeded(llm_server: LLMServer) -> None:
    def run() -> list[int]:
        llm_server.reset()
        llm_server.set_default("echo")
        llm_server.inject_faults(0.5, seed=7, faults=["server_error", "unavailable"])
        return [_post(llm_server).status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert {200} < set(first) and set(first) <= {200, 500, 503}


def test_serves_slow_requests_concurrently(llm_server: LLMServer) -> None:
    llm_server.script_many(Reply(text="ok", latency=0.5) for _ in range(32))
    payload = {"model": "test-model", "messages": USER}

    async def run_all() -> tuple[list[int], float]:
        async with aiohttp.ClientSession() as session:
            async def one() -> int:
                async with session.post(f"{llm_server.base_url}/chat/completions", json=payload) as resp:
                    await resp.read()
                    return resp.status

            started = time.perf_counter()
            codes = await asyncio.gather(*(one() for _ in range(32)))
            return list(codes), time.perf_counter() - started

    codes, elapsed = asyncio.run(run_all())
    assert codes == [200] * 32 and llm_server.max_in_flight == 32
    assert elapsed < 4.0  # 32 × 0.5 s would take 16 s if requests were served one at a time


def test_models_endpoint_lists_known_models(llm_server: LLMServer) -> None:
    llm_server.script(Reply(text="x"), model="routed-model")
    ids = [m["id"] for m in httpx.get(f"{llm_server.base_url}/models").json()["data"]]
    assert "routed-model" in ids and "test-model" in ids


def test_runs_standalone_from_the_command_line() -> None:
    with LLMServer() as probe:  # borrow a free port, then release it
        port = probe.port
    proc = subprocess.Popen([sys.executable, "-m", "testkit.llm_server", "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert "testkit LLM server on" in (proc.stdout.readline() if proc.stdout else "")
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                           json={"model": "m", "messages": USER}).json()
        assert reply["choices"][0]["message"]["content"] == "echo: Say hello"
    finally:
        proc.terminate()
        proc.wait(10)
