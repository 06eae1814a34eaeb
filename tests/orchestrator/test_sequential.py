"""Sequential steps: prompts filled from inputs and earlier outputs, one ordered event stream."""

from __future__ import annotations

import json

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.events import parse_event, to_json_line

TWO_STEPS = """
    version: 1
    name: two-steps
    default_model: openai/gpt-4o-mini
    inputs:
      topic: {default: tides}
    agents:
      researcher: {role: Researcher, goal: Find facts}
      writer: {role: Writer}
    steps:
      - {id: research, type: agent, agent: researcher, prompt: 'Facts about {{ inputs.topic }}'}
      - {id: write, type: agent, agent: writer, prompt: 'Write from {{ steps.research.output }}'}
"""


def test_steps_run_in_order_and_read_earlier_outputs(make_engine) -> None:
    client = ScriptedClient(Say("the moon pulls water"), Say("A short brief."))
    events = collect(make_engine(client).run(workflow(TWO_STEPS), {"topic": "ocean tides"}))

    assert [r.messages[-1]["content"] for r in client.requests] == [
        "Facts about ocean tides", "Write from the moon pulls water"]
    assert client.requests[0].messages[0]["content"].startswith("You are Researcher.")
    kinds = [e.type for e in events if e.type != "token"]
    assert kinds == ["run_started", "step_started", "llm_call", "step_finished",
                     "step_started", "llm_call", "step_finished", "run_finished"]
    finished = events[-1]
    assert finished.output == "A short brief."
    assert finished.outputs == {"research": "the moon pulls water", "write": "A short brief."}
    assert (finished.tokens_in, finished.tokens_out) == (20, 10)
    client.assert_all_used()


def test_events_are_numbered_tagged_and_round_trip_as_json_lines(make_engine) -> None:
    seen = []
    client = ScriptedClient(Say("one two three"), Say("done"))
    events = collect(make_engine(client, sinks=[seen.append]).run(workflow(TWO_STEPS), {}))

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert seen == events  # the sink saw every event, in the same order
    assert {e.run_id for e in events} == {events[0].run_id}
    tokens = of_type(events, "token")
    assert "".join(t.text for t in tokens if t.step_id == "research") == "one two three"
    for event in events:
        assert parse_event(json.loads(to_json_line(event))) == event


def test_defaults_and_coercion_of_inputs(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: typed
        default_model: openai/gpt-4o-mini
        inputs:
          n: {type: integer}
          strict: {type: boolean, default: false}
        agents: {a: {role: A}}
        steps:
          - {id: s, type: agent, agent: a, prompt: 'n={{ inputs.n }} strict={{ inputs.strict }}'}
    """)
    client = ScriptedClient(Say("ok"))
    events = collect(make_engine(client).run(wf, {"n": "3"}))
    assert events[0].inputs == {"n": 3, "strict": False}
    assert client.requests[0].messages[-1]["content"] == "n=3 strict=false"


def test_a_missing_required_input_fails_the_run_clearly(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: needs-input
        default_model: openai/gpt-4o-mini
        inputs: {topic: {}}
        agents: {a: {role: A}}
        steps: [{id: s, type: agent, agent: a, prompt: '{{ inputs.topic }}'}]
    """)
    events = collect(make_engine(ScriptedClient()).run(wf, {}))
    assert [e.type for e in events] == ["run_started", "run_failed"]
    assert events[-1].reason == "config" and "`topic`" in events[-1].message


def test_a_provider_failure_ends_the_run_with_its_reason_and_partial_outputs(make_engine) -> None:
    from orchestrator.errors import RateLimited

    client = ScriptedClient(Say("facts"), Say(error=RateLimited("429 from openai", model="openai/gpt-4o-mini")))
    events = collect(make_engine(client).run(workflow(TWO_STEPS), {}))
    failed = events[-1]
    assert failed.type == "run_failed" and failed.reason == "rate_limited"
    assert failed.step_id == "write" and "429" in failed.message
    assert failed.outputs == {"research": "facts"}
    assert of_type(events, "step_finished")[-1].status == "failed"


def test_a_run_id_cannot_be_reused(make_engine) -> None:
    import pytest

    engine = make_engine(ScriptedClient(Say("a"), Say("b")))
    collect(engine.run(workflow(TWO_STEPS), {}, run_id="same"))
    with pytest.raises(ValueError, match="`same` is already used"):
        collect(engine.run(workflow(TWO_STEPS), {}, run_id="same"))
