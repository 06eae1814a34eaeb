"""Provider faults through the real `LiteLLMClient`: 100 runs against a loopback server that fails
one request in five (429 with Retry-After, 500, 503, dropped connections, read timeouts, streams cut
mid-token, invalid tool-call JSON). Every run must end, retries stay bounded, the circuit breaker
trips on a model that keeps failing, and no tool side effect happens twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import pytest
from faults_testing import collect, of_type, workflow

from orchestrator.circuit import CircuitBreaker, circuit_key
from orchestrator.credentials import Credentials
from orchestrator.llm import LiteLLMClient
from orchestrator.llm_types import LLMRequest, ModelParams
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from testkit.replies import Reply, ToolCallSpec

RUNS = 100
FAULT_RATE = 0.2
RETRIES = 2
RUN_TIMEOUT = 30.0
FAULT_KINDS = ("rate_limit", "server_error", "unavailable", "disconnect", "hang", "cut_stream", "bad_tool_json")

FAULTY = """
    version: 1
    name: faulty
    models: {m: {model: openai/gpt-4o-mini, timeout: 5, retries: %d}}
    default_model: m
    inputs: {tag: {}}
    tools:
      record: {type: http, description: Record the key, allow: ['%s/*']}
    agents:
      w: {role: Recorder, tools: [record]}
      s: {role: Summariser}
    limits: {timeout_seconds: %g}
    steps:
      - {id: fetch, type: agent, agent: w, prompt: 'Record {{ inputs.tag }}'}
      - {id: sum, type: agent, agent: s, prompt: 'Summarise: {{ steps.fetch.output }}'}
"""


class FaultyModel:
    """The server's answers: a tool call, then text; one request in five fails (seeded)."""

    def __init__(self, counter_url: str, seed: int) -> None:
        self.counter_url = counter_url
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.requests = 0

    def __call__(self, req: Any) -> Reply:
        self.requests += 1
        text = " ".join(str(m.get("content") or "") for m in req.messages if m.get("role") == "user")
        key = text.split("Record ", 1)[1].split()[0] if "Record " in text else ""
        recorded = any(m.get("role") == "tool" and "recorded" in str(m.get("content")) for m in req.messages)
        if req.tools and not recorded:
            reply = Reply(tool_calls=[ToolCallSpec("record", {"url": f"{self.counter_url}/hit/{key}"})])
        elif req.tools:
            reply = Reply(text=f"recorded {key} and all is well")
        else:
            reply = Reply(text=f"summary of {text.split('Summarise: ', 1)[-1]}")
        if self.rng.random() >= FAULT_RATE:
            return reply
        kind = self.rng.choice(FAULT_KINDS)
        if kind == "bad_tool_json" and not reply.tool_calls:
            kind = "cut_stream"  # invalid arguments only exist on a tool call
        self.injected[kind] += 1
        if kind == "cut_stream":
            return Reply(text=(reply.text or "a longer answer") + " that is cut off mid stream " * 3, fault="cut_stream",
                         tool_calls=reply.tool_calls)
        return Reply(text=reply.text, tool_calls=reply.tool_calls, fault=kind, retry_after=0.05, hang_seconds=10)  # type: ignore[arg-type]


def _calls(events: list[Any]) -> list[list[int]]:
    """The attempt numbers of each model call (a call's attempts count up from 1)."""
    calls: list[list[int]] = []
    for e in of_type(events, "llm_call"):
        if e.attempt == 1 or not calls:
            calls.append([])
        calls[-1].append(e.attempt)
    return calls


def _engine(tmp_path: Any, client: LiteLLMClient) -> Engine:
    return Engine(data_dir=tmp_path / "data", client=client, credentials=client.credentials,
                  policy=Policy(allow_private_http=True))


@pytest.mark.slow
def test_a_hundred_runs_under_twenty_percent_faults_all_end_honestly(tmp_path, llm_server, credentials, counter,
                                                                     report, caplog) -> None:
    client = LiteLLMClient(credentials, breaker=CircuitBreaker(threshold=5, cooldown=1.0), backoff_base=0.01,
                           backoff_cap=0.2)
    llm_server.set_default(lambda req: Reply(text="warm"))  # as the app's warm-up: LiteLLM's first call is slow
    asyncio.run(client.complete(LLMRequest(ModelParams("openai/gpt-4o-mini"), [{"role": "user", "content": "hi"}])))
    model = FaultyModel(counter.url, seed=9)
    llm_server.set_default(model)
    engine = _engine(tmp_path, client)
    wf = workflow(FAULTY % (RETRIES, counter.url, RUN_TIMEOUT))
    durations: dict[str, float] = {}

    async def one(i: int, gate: asyncio.Semaphore) -> list[Any]:
        async with gate:
            started = time.monotonic()
            events = await asyncio.wait_for(_drain(engine.run(wf, {"tag": f"k{i}"}, run_id=f"r{i}")),
                                            RUN_TIMEOUT + 15)
            durations[f"r{i}"] = time.monotonic() - started
            return events

    async def main() -> list[list[Any]]:
        gate = asyncio.Semaphore(10)
        return await asyncio.gather(*(one(i, gate) for i in range(RUNS)))

    runs = asyncio.run(main())
    endings: Counter[str] = Counter()
    problems: list[str] = []
    attempts_total = fast_fails = 0
    for i, events in enumerate(runs):
        last = events[-1]
        assert last.type in ("run_finished", "run_failed"), f"r{i} ended with {last.type}"
        assert durations[f"r{i}"] < RUN_TIMEOUT + 5
        calls = _calls(events)
        attempts_total += sum(len(c) for c in calls)
        fast_fails += sum(1 for c in of_type(events, "llm_call") if c.error and "failed repeatedly" in c.error)
        for attempts in calls:
            assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) <= RETRIES + 1, (i, attempts)
        hits = counter.hits[f"/hit/k{i}"]
        assert hits <= 1, f"run r{i}'s tool side effect ran {hits} times"
        ok_results = [r for r in of_type(events, "tool_result") if r.ok]
        assert len({r.call_id for r in ok_results}) == len(ok_results) == hits
        if last.type == "run_finished":
            endings["finished"] += 1
            assert hits == 1
            assert last.outputs["fetch"] == f"recorded k{i} and all is well", f"r{i}: {last.outputs}"
            assert last.outputs["sum"] == f"summary of recorded k{i} and all is well"
        else:
            endings[f"failed:{last.reason}"] += 1
            assert last.reason and last.message
            if last.reason == "internal":
                problems.append(f"r{i}: {last.message}")
    problems += [f"{r.getMessage()}: {r.exc_text}" for r in caplog.records if r.exc_info or r.exc_text]
    assert not problems, problems
    assert model.requests <= attempts_total - fast_fails  # no request without its LLMCall event
    assert endings["finished"] >= 80  # three attempts each: a run fails only when a call fails three times
    report.add("provider_faults", runs=RUNS, fault_rate=FAULT_RATE, requests=model.requests,
               faults_injected=sum(model.injected.values()), faults_by_kind=dict(model.injected),
               endings=dict(endings), tool_side_effects=sum(counter.hits.values()),
               max_run_s=round(max(durations.values()), 2))


async def _drain(stream: Any) -> list[Any]:
    return [e async for e in stream]


def test_a_persistently_failing_model_trips_the_circuit_breaker(tmp_path, llm_server, credentials, report) -> None:
    llm_server.set_default(lambda req: Reply(fault="server_error") if req.model == "gpt-4o-mini"
                           else Reply(text="healthy"))
    breaker = CircuitBreaker(threshold=3, cooldown=1.0)
    engine = _engine(tmp_path, LiteLLMClient(credentials, breaker=breaker, backoff_base=0.01, backoff_cap=0.05))
    wf = workflow("""
        version: 1
        name: broken
        models: {m: {model: openai/gpt-4o-mini, retries: 2}}
        default_model: m
        agents: {w: {role: W}}
        steps: [{id: one, type: agent, agent: w, prompt: hello}]
    """)
    first = collect(engine.run(wf, {}))
    assert first[-1].reason == "provider_unavailable" and len(llm_server.requests) == 3
    assert breaker.state(circuit_key("openai/gpt-4o-mini", credentials.keys["openai"])) == "open"

    started = time.monotonic()
    second = collect(engine.run(wf, {}))
    fast = time.monotonic() - started
    assert second[-1].type == "run_failed" and second[-1].reason == "circuit_open"
    assert "wait for the cooldown" in second[-1].message
    assert len(llm_server.requests) == 3  # failed fast: no request went out
    assert [c.error is not None for c in of_type(second, "llm_call")] == [True]

    other = collect(engine.run(wf, {}, model_override="openai/gpt-4.1-mini"))  # other models are unaffected
    assert other[-1].type == "run_finished" and other[-1].output == "healthy"

    time.sleep(1.05)  # cooldown over: exactly one trial call goes out, fails, and re-opens the circuit
    third = collect(engine.run(wf, {}))
    assert third[-1].reason in ("provider_unavailable", "circuit_open")
    assert len([r for r in llm_server.requests if r.model == "gpt-4o-mini"]) == 4
    assert breaker.state(circuit_key("openai/gpt-4o-mini", credentials.keys["openai"])) == "open"
    report.add("circuit_breaker", runs=4, failed_fast_s=round(fast, 3), requests_while_open=0, threshold=3)


def test_a_refused_connection_is_retried_then_fails_with_a_reason(tmp_path, report) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    creds = Credentials(keys={"openai": "sk-test-refused-0123456789"}, api_bases={"openai": f"http://127.0.0.1:{port}/v1"})
    engine = _engine(tmp_path, LiteLLMClient(creds, breaker=CircuitBreaker(), backoff_base=0.01, backoff_cap=0.05))
    wf = workflow("""
        version: 1
        name: refused
        models: {m: {model: openai/gpt-4o-mini, retries: 2, timeout: 5}}
        default_model: m
        agents: {w: {role: W}}
        steps: [{id: one, type: agent, agent: w, prompt: hello}]
    """)
    started = time.monotonic()
    events = collect(engine.run(wf, {}))
    assert time.monotonic() - started < 10
    assert events[-1].type == "run_failed" and events[-1].reason == "provider_unavailable"
    assert "after 3 attempts" in events[-1].message
    assert [c.attempt for c in of_type(events, "llm_call")] == [1, 2, 3]
    report.add("refused_connection", runs=1, attempts=3)
