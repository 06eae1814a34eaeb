"""`map` over a list of objects (here built by a `transform`): item fields read as `{{ item.field }}`."""

from __future__ import annotations

from typing import Any

from engine_testing import collect, workflow
from scripted import Say, ScriptedClient

PEOPLE = """
    version: 2
    name: greet-each
    default_model: openai/gpt-4o-mini
    inputs:
      host: {default: Grace}
    agents:
      greeter: {role: Greeter}
    steps:
      - id: people
        type: transform
        value:
          - {name: Ada, city: London}
          - {name: '{{ inputs.host }}', city: Arlington}
      - id: greet
        type: map
        over: '{{ steps.people.output }}'
        as: person
        steps: [{id: hello, type: agent, agent: greeter, prompt: 'Greet {{ person.name }} from {{ person.city }}'}]
"""


def test_map_items_that_are_objects_expose_their_fields(make_engine) -> None:
    def answer(request: Any) -> Say:
        return Say(request.messages[-1]["content"].replace("Greet", "Hello"))

    events = collect(make_engine(ScriptedClient(responder=answer)).run(workflow(PEOPLE), {}))

    assert events[-1].type == "run_finished", events[-1]
    assert events[-1].outputs["people"] == [{"name": "Ada", "city": "London"}, {"name": "Grace", "city": "Arlington"}]
    assert events[-1].outputs["greet"] == ["Hello Ada from London", "Hello Grace from Arlington"]

