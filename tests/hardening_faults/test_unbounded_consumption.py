"""Unbounded consumption: step caps, run budgets, per-user isolation, input size and wall-clock limits.

Every run here goes through the real `LiteLLMClient` to the loopback server, whose usage figures
are scripted, so the costs below are exact (gpt-4o-mini: $0.15 / M input, $0.60 / M output).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from faults_testing import collect, of_type, workflow

from history.store import HistoryStore
from orchestrator.circuit import CircuitBreaker
from orchestrator.llm import LiteLLMClient
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from testkit.replies import Reply

USAGE = {"prompt_tokens": 10_000, "completion_tokens": 1_000}
ONE_CALL_USD = 10_000 * 0.15e-6 + 1_000 * 0.60e-6  # 0.0021
ONE_CALL_TOKENS = 11_000

FOREVER = """
    version: 1
    name: forever
    default_model: openai/gpt-4o-mini
    agents: {w: {role: Worker}}
    limits: {%s}
    steps:
      - id: keep
        type: loop
        max_iterations: 50
        until: steps.work.output == 'done'
        steps:
          - {id: work, type: agent, agent: w, prompt: 'Keep going ({{ loop.iteration }})'}
"""


@pytest.fixture
def store(data_dir: Path) -> Any:
    with HistoryStore.open(data_dir, mlflow=False) as s:
        yield s


def _engine(data_dir: Path, client: LiteLLMClient, store: HistoryStore, owner_sinks: list[Any] = ()) -> Engine:
    return Engine(data_dir=data_dir, client=client, credentials=client.credentials, policy=Policy(),
                  sinks=[store.sink, *owner_sinks])


def _recorded(store: HistoryStore, run_id: str) -> tuple[str, int, float]:
    assert store.flush(10)
    row = store.read_cursor().execute(
        "SELECT status, tokens_in + tokens_out, cost_usd FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return row[0], int(row[1] or 0), float(row[2] or 0.0)


def test_a_model_that_always_says_continue_stops_at_the_step_cap(data_dir, llm_server, llm_client, store,
                                                                  report) -> None:
    llm_server.set_default(lambda req: Reply(text="continue"))
    events = collect(_engine(data_dir, llm_client, store).run(workflow(FOREVER % "max_steps: 6"), {},
                                                               run_id="forever"))
    exceeded = of_type(events, "budget_exceeded")
    assert [(e.limit, e.limit_value, e.used) for e in exceeded] == [("max_steps", 6, 6)]
    assert events[-1].type == "run_failed" and events[-1].reason == "budget"
    assert "limits.max_steps" in events[-1].message
    assert len(llm_server.requests) == 5  # the loop step itself + 5 iterations = 6 step executions
    assert _recorded(store, "forever")[0] == "failed"
    report.add("step_cap", runs=1, llm_requests=len(llm_server.requests), stopped_at_step=6)


def test_the_cost_budget_overshoots_by_at_most_one_call(data_dir, llm_server, llm_client, store, report) -> None:
    llm_server.set_default(lambda req: Reply(text="continue", usage=USAGE))
    limit = 0.005
    events = collect(_engine(data_dir, llm_client, store).run(
        workflow(FOREVER % f"max_cost_usd: {limit}"), {}, run_id="costly"))
    exceeded = of_type(events, "budget_exceeded")
    assert [e.limit for e in exceeded] == ["max_cost_usd"]
    calls = of_type(events, "llm_call")
    spent = sum(c.cost_usd for c in calls)
    assert len(llm_server.requests) == len(calls) == 3  # 0.0021, 0.0042 (< limit: go on), 0.0063: stop
    assert spent == pytest.approx(3 * ONE_CALL_USD)
    status, _tokens, recorded = _recorded(store, "costly")
    assert status == "failed"
    assert limit < recorded <= limit + ONE_CALL_USD + 1e-12
    report.add("cost_budget", runs=1, limit_usd=limit, recorded_usd=round(recorded, 6),
               overshoot_calls=1, llm_requests=len(llm_server.requests))


def test_the_token_budget_overshoots_by_at_most_one_call(data_dir, llm_server, llm_client, store, report) -> None:
    llm_server.set_default(lambda req: Reply(text="continue", usage=USAGE))
    limit = 25_000
    events = collect(_engine(data_dir, llm_client, store).run(
        workflow(FOREVER % f"max_tokens: {limit}"), {}, run_id="wordy"))
    assert [e.limit for e in of_type(events, "budget_exceeded")] == ["max_tokens"]
    _status, tokens, _cost = _recorded(store, "wordy")
    assert tokens <= limit + ONE_CALL_TOKENS
    assert len(llm_server.requests) == 3
    report.add("token_budget", runs=1, limit_tokens=limit, recorded_tokens=tokens,
               llm_requests=len(llm_server.requests))


def test_one_user_exhausting_a_budget_does_not_stop_another(data_dir, llm_server, credentials, store,
                                                            report) -> None:
    """Two sessions, one app: budgets are per run, never LiteLLM's process-global `max_budget`."""
    llm_server.set_default(lambda req: Reply(text="continue" if "Keep" in str(req.messages) else "fine",
                                             usage=USAGE, chunk_delay=0.02))
    breaker = CircuitBreaker()
    alice = _engine(data_dir, LiteLLMClient(credentials, breaker=breaker), store)
    bob = _engine(data_dir, LiteLLMClient(credentials, breaker=breaker), store)
    steady = workflow("""
        version: 1
        name: steady
        default_model: openai/gpt-4o-mini
        agents: {w: {role: Writer}}
        limits: {max_cost_usd: 1.0}
        steps:
          - {id: a, type: agent, agent: w, prompt: one}
          - {id: b, type: agent, agent: w, prompt: two}
          - {id: c, type: agent, agent: w, prompt: three}
          - {id: d, type: agent, agent: w, prompt: four}
    """)

    async def drain(stream: Any) -> list[Any]:
        return [e async for e in stream]

    async def both() -> tuple[list[Any], list[Any]]:
        return await asyncio.gather(
            drain(alice.run(workflow(FOREVER % "max_cost_usd: 0.004"), {}, owner="alice", run_id="alice-1")),
            drain(bob.run(steady, {}, owner="bob", run_id="bob-1")))

    alice_events, bob_events = asyncio.run(both())
    assert alice_events[-1].type == "run_failed" and alice_events[-1].reason == "budget"
    assert bob_events[-1].type == "run_finished"
    assert bob_events[-1].outputs == {"a": "fine", "b": "fine", "c": "fine", "d": "fine"}
    assert llm_server.max_in_flight >= 2  # the two runs really overlapped
    import litellm

    assert not litellm.max_budget  # nothing process-global was set
    assert _recorded(store, "bob-1")[0] == "finished"
    report.add("per_user_budget", runs=2, exhausted="alice", unaffected="bob",
               max_in_flight=llm_server.max_in_flight)


def test_an_oversized_chat_message_is_refused_before_any_model_call(llm_server, llm_client, report) -> None:
    from chatbot.assistant import assistant_turn
    from chatbot.guard import MAX_INPUT_CHARS
    from chatbot.state import ChatState
    from orchestrator.llm_types import ModelParams

    llm_server.set_default("echo")
    state = ChatState()
    result = asyncio.run(assistant_turn(state, "describe " + "x" * MAX_INPUT_CHARS, llm_client,
                                        ModelParams("openai/gpt-4o-mini")))
    assert "limit is 8,000" in result.reply
    assert llm_server.requests == []
    assert not any(m.content.startswith("describe xxx") for m in state.messages)  # not kept either
    ok = asyncio.run(assistant_turn(state, "x" * (MAX_INPUT_CHARS - 10), llm_client, ModelParams("openai/gpt-4o-mini")))
    assert ok.reply and len(llm_server.requests) >= 1  # the same size minus a little goes through
    report.add("chat_input_cap", oversized_requests_sent=0, limit_chars=MAX_INPUT_CHARS)


def test_the_wall_clock_limit_ends_a_run_cleanly_with_partial_results(data_dir, llm_server, llm_client, store,
                                                                      report) -> None:
    llm_server.script(Reply(text="quick"), Reply(text="never", latency=30))
    wf = workflow("""
        version: 1
        name: slow
        default_model: openai/gpt-4o-mini
        agents: {w: {role: Writer}}
        limits: {timeout_seconds: 1.5}
        steps:
          - {id: one, type: agent, agent: w, prompt: one}
          - {id: two, type: agent, agent: w, prompt: two}
          - {id: three, type: agent, agent: w, prompt: three}
    """)
    started = time.monotonic()
    events = collect(_engine(data_dir, llm_client, store).run(wf, {}, run_id="slow"))
    took = time.monotonic() - started
    assert took < 10
    exceeded = of_type(events, "budget_exceeded")
    assert [e.limit for e in exceeded] == ["timeout_seconds"] and 1.5 <= exceeded[0].used < 5
    assert events[-1].type == "run_failed" and events[-1].reason == "timeout"
    assert events[-1].outputs == {"one": "quick"}
    assert "limits.timeout_seconds" in events[-1].message
    deadline = time.monotonic() + 5
    while llm_server.in_flight and time.monotonic() < deadline:  # the slow request was abandoned
        time.sleep(0.05)
    assert llm_server.in_flight == 0
    status, _tokens, _cost = _recorded(store, "slow")
    assert status == "failed"
    steps = store.read_cursor().execute("SELECT step_id, status FROM steps WHERE run_id = 'slow' ORDER BY step_id"
                                        ).fetchall()
    assert ("one", "ok") in steps  # the partial result is kept in history too
    report.add("wall_clock", runs=1, limit_s=1.5, took_s=round(took, 2), partial_outputs=1)
