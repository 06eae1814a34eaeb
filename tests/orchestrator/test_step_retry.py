"""Per-step `retry` and `timeout_seconds`: bounded attempts with backoff, visible in the trace, usage counted."""

from __future__ import annotations

from collections.abc import Callable

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.errors import AuthenticationFailed, ProviderUnavailable
from schemas import validate_text

FLAKY = """
    version: 2
    name: flaky
    default_model: openai/gpt-4o-mini
    agents:
      writer: {role: Writer}
    steps:
      - id: draft
        type: agent
        agent: writer
        prompt: Write.
        retry: {attempts: 3, backoff_seconds: 0.01}
      - {id: polish, type: agent, agent: writer, prompt: 'Polish {{ steps.draft.output }}'}
"""


def test_a_failing_step_is_tried_again_and_every_attempt_is_counted(make_engine: Callable) -> None:
    down = ProviderUnavailable("the provider dropped the connection", model="openai/gpt-4o-mini")
    client = ScriptedClient(Say(error=down), Say(error=down), Say("a draft", tokens_in=7), Say("polished"))
    events = collect(make_engine(client).run(workflow(FLAKY), {}))

    assert events[-1].type == "run_finished" and events[-1].output == "polished"
    retries = [w.message for w in of_type(events, "warning") if w.step_id == "draft"]
    assert len(retries) == 2
    assert retries[0].startswith("step `draft` failed on attempt 1 of 3 (the provider dropped the connection)")
    assert retries[1].endswith("trying again in 0.02 s")  # the backoff doubles
    draft = [e for e in of_type(events, "step_finished") if e.step_id == "draft"]
    assert [d.status for d in draft] == ["ok"] and draft[0].tokens_in == 7
    assert len([c for c in of_type(events, "llm_call") if c.step_id == "draft"]) == 3
    client.assert_all_used()


def test_the_last_failure_ends_the_run_with_its_own_message(make_engine: Callable) -> None:
    down = ProviderUnavailable("the provider dropped the connection", model="openai/gpt-4o-mini")
    client = ScriptedClient(Say(error=down), Say(error=down), Say(error=down))
    events = collect(make_engine(client).run(workflow(FLAKY), {}))

    assert events[-1].type == "run_failed" and events[-1].step_id == "draft"
    assert "dropped the connection" in events[-1].message
    assert len(of_type(events, "warning")) == 2
    client.assert_all_used()


def test_a_rejected_key_is_not_tried_again(make_engine: Callable) -> None:
    client = ScriptedClient(Say(error=AuthenticationFailed("invalid key", model="openai/gpt-4o-mini")))
    events = collect(make_engine(client).run(workflow(FLAKY), {}))

    assert events[-1].type == "run_failed" and not of_type(events, "warning")
    client.assert_all_used()


def test_a_step_past_its_deadline_is_cut_and_tried_again(make_engine: Callable) -> None:
    text = FLAKY.replace("retry: {attempts: 3, backoff_seconds: 0.01}",
                         "timeout_seconds: 0.2\n        retry: {attempts: 2, backoff_seconds: 0}")
    client = ScriptedClient(Say("too late", delay=5), Say("in time"), Say("polished"))
    events = collect(make_engine(client).run(workflow(text), {}))

    assert events[-1].type == "run_finished" and events[-1].outputs["draft"] == "in time"
    [warning] = of_type(events, "warning")
    assert "did not finish within its timeout_seconds=0.2" in warning.message


def test_a_deadline_without_retry_fails_the_step_clearly(make_engine: Callable) -> None:
    text = FLAKY.replace("retry: {attempts: 3, backoff_seconds: 0.01}", "timeout_seconds: 0.2")
    client = ScriptedClient(Say("too late", delay=5))
    events = collect(make_engine(client).run(workflow(text), {}))

    assert events[-1].type == "run_failed" and events[-1].step_id == "draft"
    assert "did not finish within its timeout_seconds=0.2; raise it or add `retry`" in events[-1].message


def test_steps_that_hold_steps_or_wait_for_a_person_cannot_take_retry() -> None:
    text = """\
version: 2
name: guarded
agents:
  writer: {role: Writer}
steps:
  - id: rounds
    type: loop
    max_iterations: 2
    until: loop.iteration >= 2
    retry: {attempts: 2}
    steps:
      - {id: draft, type: agent, agent: writer, prompt: Write., timeout_seconds: 30}
  - {id: ok, type: approval, message: Fine?, timeout_seconds: 60}
"""
    errors = [(e.line, e.column, e.message, e.fix) for e in validate_text(text, "g.yaml").errors]
    assert errors == [
        (10, 12, "`loop` steps cannot take `retry`", "remove it, or put `retry` on the steps inside it"),
        (13, 63, "`approval` steps cannot take `timeout_seconds`",
         "remove it, or put `timeout_seconds` on the steps that do the work"),
    ]
