"""Parallel branches and map items run concurrently; the next step waits for all of them."""

from __future__ import annotations

import time

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

PARALLEL = """
    version: 1
    name: parallel
    default_model: openai/gpt-4o-mini
    agents: {a: {role: Analyst}}
    steps:
      - id: both
        type: parallel
        branches:
          - {id: left, type: agent, agent: a, prompt: left}
          - id: right_loop
            type: loop
            max_iterations: 2
            until: loop.iteration >= 2
            steps: [{id: right, type: agent, agent: a, prompt: 'right {{ loop.iteration }}'}]
      - {id: merge, type: agent, agent: a, prompt: 'merge {{ steps.both.output }}'}
"""

MAP = """
    version: 1
    name: map
    default_model: openai/gpt-4o-mini
    agents:
      planner: {role: Planner, output: {topics: {type: list}}}
      writer: {role: Writer}
    steps:
      - {id: plan, type: agent, agent: planner, prompt: plan}
      - id: each
        type: map
        over: '{{ steps.plan.output.topics }}'
        as: topic
        max_items: 4
        step: {id: write, type: agent, agent: writer, prompt: 'about {{ topic }}'}
      - {id: join, type: agent, agent: writer, prompt: 'join {{ steps.each.output }}'}
"""


def test_parallel_branches_overlap_and_join_waits_for_the_longer_branch(make_engine) -> None:
    client = ScriptedClient(responder=lambda req: Say(f"ok {req.messages[-1]['content']}", delay=0.1))
    events = collect(make_engine(client).run(workflow(PARALLEL), {}))

    assert client.max_in_flight == 2  # left and the first right ran together
    assert events[-1].type == "run_finished"
    assert events[-1].outputs["both"] == {"left": "ok left", "right_loop": "ok right 2"}
    assert client.requests[-1].messages[-1]["content"].startswith('merge {"left":"ok left"')
    started = [e.step_id for e in of_type(events, "step_started")]
    assert started.count("merge") == 1 and started.index("merge") > started.index("right")


def test_map_sends_every_item_concurrently_and_keeps_their_order(make_engine) -> None:
    topics = ["a", "b", "c", "d", "e", "f"]

    def reply(req):
        if req.json_schema:
            return Say.json({"topics": topics})
        return Say(req.messages[-1]["content"].upper(), delay=0.2 if "about a" in req.messages[-1]["content"] else 0.1)

    client = ScriptedClient(responder=reply)
    started = time.monotonic()
    events = collect(make_engine(client).run(workflow(MAP), {}))
    elapsed = time.monotonic() - started

    assert events[-1].outputs["each"] == ["ABOUT A", "ABOUT B", "ABOUT C", "ABOUT D"]
    assert client.max_in_flight == 4 and elapsed < 1.5
    warning = of_type(events, "warning")[0]
    assert "6 items" in warning.message and "max_items" in warning.message
    items = sorted(e.item_index for e in of_type(events, "step_finished") if e.step_id == "write")
    assert items == [0, 1, 2, 3]
    assert events[-1].tokens_in == 10 * 6  # plan + 4 items + join


def test_a_map_over_an_empty_list_goes_straight_on(make_engine) -> None:
    client = ScriptedClient(Say.json({"topics": []}), Say("nothing to join"))
    events = collect(make_engine(client).run(workflow(MAP), {}))
    assert events[-1].type == "run_finished"
    assert events[-1].outputs["each"] == []
    client.assert_all_used()


def test_map_over_a_text_list_splits_lines(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: lines
        default_model: openai/gpt-4o-mini
        inputs: {items: {type: list, default: [x, y]}}
        agents: {w: {role: W}}
        steps:
          - {id: each, type: map, over: '{{ inputs.items }}', step: {id: one, type: agent, agent: w, prompt: '{{ item }}!'}}
    """)
    client = ScriptedClient(responder=lambda req: Say(req.messages[-1]["content"]))
    events = collect(make_engine(client).run(wf, {}))
    assert events[-1].output == ["x!", "y!"]
