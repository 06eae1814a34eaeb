"""`transform` builds values without a model; `end` finishes early; an empty route case carries on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from history import queries as q
from history.store import HistoryStore
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import validate_text
from testkit.replies import Reply

TRIAGE = """
    version: 2
    name: triage
    default_model: openai/gpt-4o-mini
    inputs:
      ticket: {default: 'Printer on fire'}
    agents:
      triager:
        role: Triager
        output:
          urgent: {type: boolean}
          area: {type: string, enum: [hardware, software]}
          tags: {type: list}
      writer: {role: Writer}
    steps:
      - {id: triage, type: agent, agent: triager, prompt: 'Triage {{ inputs.ticket }}'}
      - id: card
        type: transform
        value:
          title: 'Ticket: {{ inputs.ticket }}'
          area: '{{ steps.triage.output.area }}'
          tags: '{{ steps.triage.output.tags }}'
          flags: ['{{ steps.triage.output.urgent }}', fixed]
          priority: 1
      - id: check
        type: route
        on: '{{ steps.triage.output.urgent }}'
        cases:
          - when: 'true'
            steps:
              - {id: escalate, type: end, output: {escalated: '{{ steps.card.output }}'}}
          - when: 'false'
            steps: []
        default: []
      - {id: reply, type: agent, agent: writer, prompt: 'Answer {{ steps.card.output.title }} ({{ steps.card.output.area }})'}
"""


def _triage(urgent: bool) -> Any:
    def answer(request: Any) -> Say:
        content = request.messages[-1]["content"]
        if content.startswith("Triage"):
            return Say(json.dumps({"urgent": urgent, "area": "hardware", "tags": ["fire", "printer"]}))
        return Say(f"reply to: {content}")

    return answer


def test_transform_builds_an_object_keeping_raw_values_without_a_model_call(make_engine) -> None:
    client = ScriptedClient(responder=_triage(False))
    events = collect(make_engine(client).run(workflow(TRIAGE), {}))

    assert events[-1].type == "run_finished"
    assert events[-1].outputs["card"] == {
        "title": "Ticket: Printer on fire", "area": "hardware", "tags": ["fire", "printer"],
        "flags": [False, "fixed"], "priority": 1,
    }
    assert len(client.requests) == 2  # triage and reply; the transform called no model
    card = [e for e in of_type(events, "step_finished") if e.step_id == "card"][0]
    assert (card.step_type, card.status, card.cost_usd, card.tokens_in, card.model) == ("transform", "ok", 0, 0, None)
    assert "card" in [e.step_id for e in of_type(events, "step_started")]


def test_an_empty_route_case_carries_on_with_the_next_step(make_engine) -> None:
    events = collect(make_engine(ScriptedClient(responder=_triage(False))).run(workflow(TRIAGE), {}))

    check = [e for e in of_type(events, "step_finished") if e.step_id == "check"][0]
    assert check.branch == "false" and events[-1].outputs["check"] is None
    assert events[-1].output == "reply to: Answer Ticket: Printer on fire (hardware)"


def test_end_finishes_the_run_with_its_output_and_later_steps_never_run(make_engine) -> None:
    events = collect(make_engine(ScriptedClient(responder=_triage(True))).run(workflow(TRIAGE), {}))

    assert events[-1].type == "run_finished"
    assert events[-1].output == {"escalated": events[-1].outputs["card"]}
    assert "reply" not in [e.step_id for e in of_type(events, "step_started")]
    ended = [e for e in of_type(events, "step_finished") if e.step_id == "escalate"][0]
    assert ended.step_type == "end" and ended.status == "ok"
    route = [e for e in of_type(events, "step_finished") if e.step_id == "check"]  # the route it left is closed
    assert [(e.step_type, e.status) for e in route] == [("route", "ok")]


def test_steps_after_end_and_end_in_a_parallel_branch_are_errors() -> None:
    text = """\
version: 2
name: bad-end
agents: {a: {role: A}}
steps:
  - {id: stop, type: end, output: done}
  - {id: never, type: agent, agent: a, prompt: hi}
  - id: both
    type: parallel
    branches:
      - {id: left, type: end}
      - {id: right, type: agent, agent: a, prompt: hi}
"""
    report = validate_text(text, "bad.yaml")
    messages = {(i.line, i.message.split(":")[0]) for i in report.errors}
    assert (6, "this step never runs") in messages
    assert any(i.line == 10 and "cannot run inside a parallel branch" in i.message for i in report.errors)


def test_transform_and_end_run_over_litellm_and_land_in_history(
    data_dir: Path, llm_server: Any, credentials: Any, llm_client: Any
) -> None:
    def answer(request: Any) -> Reply:
        return Reply(text=_triage(True)(request).text)

    llm_server.set_default(answer)
    store = HistoryStore.open(data_dir, mlflow=False)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=credentials,
                    policy=Policy(default_model="openai/gpt-4o-mini"), sinks=[store.sink])
    try:
        events = collect(engine.run(workflow(TRIAGE), {}, owner="me"))
        assert events[-1].type == "run_finished" and len(llm_server.requests) == 1
        store.flush(10)
        steps = q.run_steps(store.read_cursor(), events[-1].run_id, "me")
        rows = dict(zip(steps["step_id"], steps["step_type"], strict=True))
        assert rows["card"] == "transform" and rows["escalate"] == "end" and "reply" not in rows
    finally:
        store.close()


@pytest.mark.parametrize("value", ["'{{ steps.nope.output }}'", "{a: '{{ inputs.missing }}'}"])
def test_transform_templates_are_checked_like_prompts(value: str) -> None:
    text = f"""\
version: 2
name: t
agents: {{a: {{role: A}}}}
steps:
  - {{id: t, type: transform, value: {value}}}
"""
    report = validate_text(text, "t.yaml")
    assert report.errors and report.errors[0].line == 5, report.errors
