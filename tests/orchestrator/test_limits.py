"""Circuit breakers: steps, tokens, cost and wall-clock time; cancellation keeps partial results."""

from __future__ import annotations

import asyncio

import pytest
from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.credentials import Credentials

THREE = """
    version: 1
    name: three
    default_model: openai/gpt-4o-mini
    agents: {w: {role: W}}
    limits: {%s}
    steps:
      - {id: one, type: agent, agent: w, prompt: one}
      - {id: two, type: agent, agent: w, prompt: two}
      - {id: three, type: agent, agent: w, prompt: three}
"""


def test_max_steps_stops_before_the_step_that_would_exceed_it(make_engine) -> None:
    client = ScriptedClient(Say("1"), Say("2"))
    events = collect(make_engine(client).run(workflow(THREE % "max_steps: 2"), {}))
    exceeded = of_type(events, "budget_exceeded")[0]
    assert (exceeded.limit, exceeded.limit_value, exceeded.used) == ("max_steps", 2, 2)
    assert events[-1].type == "run_failed" and events[-1].reason == "budget"
    assert "limits.max_steps" in events[-1].message and events[-1].outputs == {"one": "1", "two": "2"}
    client.assert_all_used()


def test_max_steps_counts_loop_iterations(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: loopy
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        limits: {max_steps: 4}
        steps:
          - {id: l, type: loop, max_iterations: 10, until: 'false', steps: [{id: s, type: agent, agent: w, prompt: s}]}
    """)
    client = ScriptedClient(responder=lambda req: Say("x"))
    events = collect(make_engine(client).run(wf, {}))
    assert len(client.requests) == 3  # the loop itself + 3 iterations = 4 steps
    assert of_type(events, "budget_exceeded")[0].limit == "max_steps"


def test_token_budget_is_checked_before_each_call(make_engine) -> None:
    client = ScriptedClient(Say("1", tokens_in=100, tokens_out=50), Say("2", tokens_in=100, tokens_out=50))
    events = collect(make_engine(client).run(workflow(THREE % "max_tokens: 300"), {}))
    exceeded = of_type(events, "budget_exceeded")[0]
    assert (exceeded.limit, exceeded.used) == ("max_tokens", 300)
    assert of_type(events, "step_finished")[-1].step_id == "three"
    assert of_type(events, "step_finished")[-1].status == "failed"
    client.assert_all_used()  # no third call was made


def test_cost_budget_stops_the_run_after_the_call_that_reached_it(make_engine) -> None:
    client = ScriptedClient(Say("1", cost_usd=0.004), Say("2", cost_usd=0.004))
    events = collect(make_engine(client).run(workflow(THREE % "max_cost_usd: 0.005"), {}))
    exceeded = of_type(events, "budget_exceeded")[0]
    assert exceeded.limit == "max_cost_usd" and exceeded.used == pytest.approx(0.008)
    client.assert_all_used()


def test_the_wall_clock_limit_fails_the_run_with_partial_results(make_engine) -> None:
    client = ScriptedClient(Say("quick"), Say("slow", delay=5))
    events = collect(make_engine(client).run(workflow(THREE % "timeout_seconds: 0.5"), {}))
    exceeded = of_type(events, "budget_exceeded")[0]
    assert exceeded.limit == "timeout_seconds" and 0.5 <= exceeded.used < 2
    assert events[-1].type == "run_failed" and events[-1].reason == "timeout"
    assert events[-1].outputs == {"one": "quick"}


def test_cancelling_the_consumer_records_run_cancelled_with_partial_results(make_engine) -> None:
    seen = []
    engine = make_engine(ScriptedClient(Say("quick"), Say("slow", delay=30)), sinks=[seen.append])

    async def consume() -> None:
        async for event in engine.run(workflow(THREE % ""), {}, run_id="stop-me"):
            if event.type == "step_started" and event.step_id == "two":
                raise_after = asyncio.current_task()
                assert raise_after is not None
                asyncio.get_running_loop().call_later(0.1, raise_after.cancel)

    async def main() -> None:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.ensure_future(consume())
        await asyncio.sleep(0.05)
        assert engine.client.in_flight == 0  # the model call itself was cancelled, not left running

    asyncio.run(main())
    assert seen[-1].type == "run_cancelled" and seen[-1].reason == "cancelled"
    assert seen[-1].outputs == {"one": "quick"}
    assert engine.store.get("stop-me").status == "cancelled"


def test_a_cancellation_handed_back_records_no_stop_and_leaves_the_run_resumable(make_engine) -> None:
    """A cluster worker shutting down cancels its segment with `HAND_BACK` set: the run is not stopped."""
    from orchestrator.drive import HAND_BACK, HandBack

    seen = []
    engine = make_engine(ScriptedClient(Say("quick"), Say("slow", delay=30), Say("again"), Say("last")),
                         sinks=[seen.append])

    async def consume() -> None:
        async for event in engine.run(workflow(THREE % ""), {}, run_id="hand-back"):
            if event.type == "step_started" and event.step_id == "two":
                hand_back.requested, hand_back.message = True, "handed back to another worker"
                asyncio.current_task().cancel()  # type: ignore[union-attr]

    async def main() -> None:
        token = HAND_BACK.set(hand_back)
        try:
            with pytest.raises(asyncio.CancelledError):
                await asyncio.ensure_future(consume())
        finally:
            HAND_BACK.reset(token)

    hand_back = HandBack()
    asyncio.run(main())
    assert seen[-1].type == "warning" and seen[-1].message == "handed back to another worker"
    assert not [e for e in seen if e.type in ("run_cancelled", "run_failed")]
    assert engine.store.get("hand-back").status == "running"  # the next worker resumes it
    resumed = collect(engine.resume("hand-back"))
    assert resumed[-1].type == "run_finished" and resumed[-1].outputs == {"one": "quick", "two": "again", "three": "last"}


def test_a_consumer_that_breaks_off_still_gives_sinks_the_ending(make_engine) -> None:
    seen = []
    engine = make_engine(ScriptedClient(Say("1"), Say("2", delay=30)), sinks=[seen.append])

    async def consume() -> None:
        stream = engine.run(workflow(THREE % ""), {})
        async for event in stream:
            if event.type == "step_finished":
                break
        await stream.aclose()

    asyncio.run(consume())
    assert seen[-1].type == "run_cancelled"


def test_a_substituted_model_is_announced_never_silent(make_engine) -> None:
    client = ScriptedClient(responder=lambda req: Say("offline words"))
    engine = make_engine(client, credentials=Credentials())
    events = collect(engine.run(workflow(THREE % ""), {}))
    warnings = of_type(events, "warning")
    assert len(warnings) == 1 and "OPENAI_API_KEY" in warnings[0].message
    assert {r.params.model for r in client.requests} == {"offline/synthetic"}


def test_model_override_replaces_the_default_model(make_engine) -> None:
    client = ScriptedClient(responder=lambda req: Say("ok"))
    events = collect(make_engine(client).run(workflow(THREE % ""), {}, model_override="openai/gpt-4.1"))
    assert events[0].default_model == "openai/gpt-4.1"
    assert {r.params.model for r in client.requests} == {"openai/gpt-4.1"}


def test_aliases_carry_parameters_and_fallbacks(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: aliased
        default_model: fast
        models:
          fast: {model: openai/gpt-4o-mini, temperature: 0.2, timeout: 5, retries: 1, fallbacks: [backup]}
          backup: {model: openai/gpt-4.1-mini}
        agents: {w: {role: W}}
        steps: [{id: s, type: agent, agent: w, prompt: s}]
    """)
    client = ScriptedClient(Say("ok"))
    collect(make_engine(client).run(wf, {}))
    params = client.requests[0].params
    assert (params.model, params.temperature, params.timeout, params.retries) == ("openai/gpt-4o-mini", 0.2, 5, 1)
    assert [f.model for f in params.fallbacks] == ["openai/gpt-4.1-mini"]
