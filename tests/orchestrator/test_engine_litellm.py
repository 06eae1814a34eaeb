"""The engine over real HTTP: LiteLLM streaming to the loopback server, every example included."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest
from engine_testing import FAKE_KEYS, collect, of_type, with_placeholder_secrets, workflow

from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision
from schemas import load_workflow_file
from testkit.replies import Reply, ToolCallSpec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
SCHEMA_TO_VALUE = Policy(default_model="openai/gpt-4o-mini")


def plausible(request) -> Reply:
    """A schema-following, tool-calling answer to any request (the offline synthesiser's logic)."""
    reply = synthesize(request.messages, request.tools)
    if reply.tool_name:
        return Reply(tool_calls=[ToolCallSpec(reply.tool_name, reply.tool_arguments)])
    return Reply(text=reply.text)


def run_to_the_end(engine, wf) -> list:
    """Run, approving every approval (and answering every question with its first choice) on the
    way, and return all events of all segments."""
    events = collect(engine.run(wf, {}))
    while events[-1].type == "run_interrupted":
        asked = [e for e in events if e.type == "approval_requested"][-1]
        answer = asked.choices[0] if asked.choices else "fine"
        events += collect(engine.resume(events[-1].run_id, approval=ApprovalDecision(True, answer)))
    return events


def assert_ledger_holds_every_call_and_step(engine, events) -> None:
    """The run's final `accounted` ledger (from its last checkpoint) lists each model call and
    finished step once."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    with sqlite3.connect(engine.store.checkpoints) as db:
        saved = SqliteSaver(db).get_tuple({"configurable": {"thread_id": events[-1].run_id, "checkpoint_ns": ""}})
    recorded = [e.seq for e in events if e.type == "llm_call" or (e.type == "step_finished" and e.status == "ok")]
    assert sorted(saved.checkpoint["channel_values"]["accounted"]) == sorted(recorded)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_runs_through_litellm(path: Path, llm_server, llm_client, make_engine) -> None:
    llm_server.set_default(plausible)
    wf = load_workflow_file(path)
    engine = make_engine(llm_client, policy=SCHEMA_TO_VALUE, credentials=with_placeholder_secrets(FAKE_KEYS, wf))
    events = run_to_the_end(engine, wf)

    assert events[-1].type == "run_finished", events[-1]
    calls = of_type(events, "llm_call")
    assert calls and len(calls) == len(llm_server.requests)
    assert all(c.provider == "openai" and c.error is None and not c.synthetic for c in calls)
    assert all(c.cost_usd > 0 and not c.unpriced for c in calls)  # gpt-4o-mini is in the price map
    finished = events[-1]
    assert finished.tokens_in == sum(c.tokens_in for c in calls)
    assert finished.cost_usd == pytest.approx(sum(c.cost_usd for c in calls))
    started = [(e.step_id, e.item_index) for e in of_type(events, "step_started") if e.step_type not in ("approval", "ask")]
    done = [(e.step_id, e.item_index) for e in of_type(events, "step_finished") if e.step_type not in ("approval", "ask")]
    assert sorted(started, key=str) == sorted(done, key=str)
    tokens = "".join(t.text for t in of_type(events, "token"))
    assert tokens and all(t.step_id for t in of_type(events, "token"))
    assert_ledger_holds_every_call_and_step(engine, events)  # maps, loops, routes, branches...


def test_retries_then_fallback_are_each_visible(llm_server, llm_client, make_engine) -> None:
    wf = workflow("""
        version: 1
        name: fallback
        default_model: primary
        models:
          primary: {model: openai/gpt-4o-mini, retries: 1, fallbacks: [openai/gpt-4.1-mini]}
        agents: {w: {role: W}}
        steps: [{id: s, type: agent, agent: w, prompt: hello}]
    """)
    llm_server.script(Reply(fault="rate_limit", retry_after=0.01), Reply(fault="server_error"), model="gpt-4o-mini")
    llm_server.script(Reply(text="from the fallback"), model="gpt-4.1-mini")
    events = collect(make_engine(llm_client).run(wf, {}))

    calls = of_type(events, "llm_call")
    assert [(c.model, c.attempt, c.error is not None) for c in calls] == [
        ("openai/gpt-4o-mini", 1, True), ("openai/gpt-4o-mini", 2, True), ("openai/gpt-4.1-mini", 3, False)]
    assert events[-1].output == "from the fallback"
    step = of_type(events, "step_finished")[0]
    assert (step.model, step.attempts) == ("openai/gpt-4.1-mini", 3)
    llm_server.assert_all_used()


def test_a_provider_that_keeps_failing_fails_the_run_with_a_hint(llm_server, llm_client, make_engine) -> None:
    wf = workflow("""
        version: 1
        name: down
        default_model: flaky
        models: {flaky: {model: openai/gpt-4o-mini, retries: 1}}
        agents: {w: {role: W}}
        steps: [{id: s, type: agent, agent: w, prompt: hello}]
    """)
    llm_server.script(Reply(fault="unavailable"), Reply(fault="unavailable"))
    events = collect(make_engine(llm_client).run(wf, {}))
    assert events[-1].type == "run_failed" and events[-1].reason == "provider_unavailable"
    assert events[-1].step_id == "s" and "fallback" in events[-1].message


def test_unpriced_models_cost_zero_and_say_so(llm_server, llm_client, make_engine) -> None:
    wf = workflow("""
        version: 1
        name: unpriced
        default_model: openai/house-model-7b
        agents: {w: {role: W}}
        steps: [{id: s, type: agent, agent: w, prompt: hello}]
    """)
    llm_server.script(Reply(text="hi"))
    events = collect(make_engine(llm_client).run(wf, {}))
    call = of_type(events, "llm_call")[0]
    assert (call.cost_usd, call.unpriced) == (0.0, True)
    assert events[-1].type == "run_finished" and events[-1].cost_usd == 0


def test_real_costs_trip_the_cost_budget(llm_server, llm_client, make_engine) -> None:
    wf = workflow("""
        version: 1
        name: pricey
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        limits: {max_cost_usd: 0.03}
        steps:
          - {id: one, type: agent, agent: w, prompt: one}
          - {id: two, type: agent, agent: w, prompt: two}
    """)
    big = {"prompt_tokens": 50_000, "completion_tokens": 50_000}
    llm_server.script(Reply(text="expensive", usage=big))
    events = collect(make_engine(llm_client).run(wf, {}))
    exceeded = of_type(events, "budget_exceeded")[0]
    assert exceeded.limit == "max_cost_usd" and exceeded.used == pytest.approx(0.0375)
    assert len(llm_server.requests) == 1


def test_cancelling_during_a_streamed_call_stops_promptly_and_can_be_resumed(llm_server, llm_client, make_engine) -> None:
    wf = workflow("""
        version: 1
        name: slow
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        steps: [{id: slow, type: agent, agent: w, prompt: slow}]
    """)
    llm_server.script(Reply(text="never seen", latency=30))
    seen: list = []
    engine = make_engine(llm_client, sinks=[seen.append])

    async def cancel_when_the_call_is_in_flight(task: asyncio.Task) -> None:
        while not llm_server.requests:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        task.cancel()

    async def consume() -> None:
        task = asyncio.current_task()
        assert task is not None
        async for event in engine.run(wf, {}):
            if event.type == "step_started":
                asyncio.ensure_future(cancel_when_the_call_is_in_flight(task))

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.ensure_future(consume())
        return time.monotonic() - started

    assert asyncio.run(main()) < 10
    assert seen[-1].type == "run_cancelled"

    llm_server.script(Reply(text="finished later"))  # a cancelled run can be resumed
    resumed = collect(engine.resume(seen[-1].run_id))
    assert resumed[-1].type == "run_finished" and resumed[-1].output == "finished later"


@pytest.mark.docker
def test_python_tool_runs_in_the_docker_sandbox(llm_server, llm_client, make_engine, sandbox_image) -> None:
    wf = workflow("""
        version: 1
        name: calc
        default_model: openai/gpt-4o-mini
        tools: {py: {type: python, timeout: 20, memory_mb: 64}}
        agents: {a: {role: Analyst, tools: [py]}}
        steps: [{id: s, type: agent, agent: a, prompt: 'what is 6*7?'}]
    """)
    llm_server.script(Reply(tool_calls=[ToolCallSpec("py", {"code": "print(6*7)"})]), Reply(text="42"))
    events = collect(make_engine(llm_client, policy=Policy(sandbox_image=sandbox_image)).run(wf, {}))
    result = of_type(events, "tool_result")[0]
    assert result.ok and "42" in result.result
    tool_message = [m for m in llm_server.requests[1].messages if m["role"] == "tool"][0]
    assert "42" in json.dumps(tool_message)
    assert events[-1].output == "42"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_runs_offline_without_any_key(path: Path, make_engine) -> None:
    """No key, no network, no Ollama: the offline model answers, labelled everywhere it appears."""
    from orchestrator.credentials import Credentials
    from orchestrator.llm import LiteLLMClient

    none = Credentials()
    wf = load_workflow_file(path)
    events = run_to_the_end(make_engine(LiteLLMClient(none), credentials=with_placeholder_secrets(none, wf)), wf)

    assert events[-1].type == "run_finished", events[-1]
    assert all(c.synthetic and c.model == "offline/synthetic" for c in of_type(events, "llm_call"))
    agent_steps = [e for e in of_type(events, "step_finished") if e.model]
    assert agent_steps and all(e.synthetic for e in agent_steps)
    warnings = " ".join(w.message for w in of_type(events, "warning"))
    assert "offline" in warnings


def test_the_ledger_holds_the_work_of_composite_branches(llm_server, llm_client, make_engine) -> None:
    """A loop and a map run as parallel branches (each a subgraph): their calls reach the ledger once."""
    wf = workflow("""
        version: 1
        name: nested
        default_model: openai/gpt-4o-mini
        agents: {w: {role: Writer}}
        steps:
          - id: both
            type: parallel
            branches:
              - id: rounds
                type: loop
                max_iterations: 2
                until: 'false'
                steps: [{id: draft, type: agent, agent: w, prompt: 'round {{ loop.iteration }}'}]
              - id: each
                type: map
                over: '{{ inputs.items }}'
                as: item
                step: {id: one, type: agent, agent: w, prompt: 'about {{ item }}'}
          - {id: last, type: agent, agent: w, prompt: done}
        inputs: {items: {type: list, default: [a, b, c]}}
    """)
    llm_server.set_default(plausible)
    engine = make_engine(llm_client)
    events = collect(engine.run(wf, {}))
    assert events[-1].type == "run_finished"
    calls = of_type(events, "llm_call")
    assert len(calls) == 2 + 3 + 1
    assert_ledger_holds_every_call_and_step(engine, events)
    assert events[-1].tokens_in == sum(c.tokens_in for c in calls)


def test_a_step_retry_through_litellm_reaches_the_provider_again(llm_server, llm_client, make_engine) -> None:
    wf = workflow("""
        version: 2
        name: step-retry
        default_model: once
        models: {once: {model: openai/gpt-4o-mini, retries: 0}}
        agents: {w: {role: W}}
        steps:
          - {id: s, type: agent, agent: w, prompt: hello, retry: {attempts: 2, backoff_seconds: 0}}
    """)
    llm_server.script(Reply(fault="unavailable"), Reply(text="second time lucky"))
    events = collect(make_engine(llm_client).run(wf, {}))

    assert events[-1].type == "run_finished" and events[-1].output == "second time lucky"
    assert [c.error is not None for c in of_type(events, "llm_call")] == [True, False]
    [warning] = of_type(events, "warning")
    assert warning.step_id == "s" and "attempt 1 of 2" in warning.message
    llm_server.assert_all_used()
