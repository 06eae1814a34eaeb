"""A map runs a body of several steps per item: each item's steps read the item and each other,
the items run at once, and only the map's list of results is seen outside."""

from __future__ import annotations

import asyncio

import pytest
from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient
from test_engine_litellm import assert_ledger_holds_every_call_and_step

from orchestrator.trace_rows import TraceRows
from testkit.replies import Reply

BODY = """
    version: 2
    name: research-then-write
    default_model: openai/gpt-4o-mini
    inputs: {topics: {type: list, default: [rain, snow, fog]}}
    agents:
      researcher: {role: Researcher}
      writer: {role: Writer}
    steps:
      - id: each
        type: map
        over: '{{ inputs.topics }}'
        as: topic
        steps:
          - {id: research, type: agent, agent: researcher, prompt: 'research {{ topic }}'}
          - {id: write, type: agent, agent: writer, prompt: 'write {{ topic }} from {{ steps.research.output }}'}
          - {id: sign, type: transform, value: '{{ steps.write.output }} ({{ topic }})'}
      - {id: join, type: agent, agent: writer, prompt: 'join {{ steps.each.output }}'}
"""


def _echo(req) -> Say:
    return Say(req.messages[-1]["content"].upper(), delay=0.1)


def test_each_item_runs_the_whole_body_reading_its_own_earlier_steps(make_engine) -> None:
    client = ScriptedClient(responder=_echo)
    events = collect(make_engine(client).run(workflow(BODY), {}))

    assert events[-1].type == "run_finished"
    assert events[-1].outputs["each"] == [
        "WRITE RAIN FROM RESEARCH RAIN (rain)",
        "WRITE SNOW FROM RESEARCH SNOW (snow)",
        "WRITE FOG FROM RESEARCH FOG (fog)",
    ]
    assert client.max_in_flight == 3  # the three items' first steps ran together
    # The body's outputs are per item: the run's outputs hold only the map's list.
    assert set(events[-1].outputs) == {"each", "join"}
    body = [(e.step_id, e.item_index) for e in of_type(events, "step_finished") if e.step_id != "each"]
    assert sorted(body[:-1]) == sorted((s, i) for s in ("research", "write", "sign") for i in range(3))
    labels = {e.item_label for e in of_type(events, "step_started") if e.step_id == "sign"}
    assert labels == {"rain", "snow", "fog"}
    assert events[-1].tokens_in == sum(c.tokens_in for c in of_type(events, "llm_call"))


def test_output_names_the_body_step_each_item_contributes(make_engine) -> None:
    wf = workflow(BODY.replace("as: topic", "as: topic\n        output: research"))
    events = collect(make_engine(ScriptedClient(responder=_echo)).run(wf, {}))
    assert events[-1].outputs["each"] == ["RESEARCH RAIN", "RESEARCH SNOW", "RESEARCH FOG"]


def test_a_loop_inside_the_body_counts_rounds_per_item(make_engine) -> None:
    wf = workflow("""
        version: 2
        name: per-item-loop
        default_model: openai/gpt-4o-mini
        inputs: {topics: {type: list, default: [a, b]}}
        agents: {w: {role: W}}
        steps:
          - id: each
            type: map
            over: '{{ inputs.topics }}'
            steps:
              - id: rounds
                type: loop
                max_iterations: 3
                until: loop.iteration >= 2
                steps: [{id: draft, type: agent, agent: w, prompt: '{{ item }} round {{ loop.iteration }}'}]
    """)
    client = ScriptedClient(responder=lambda req: Say(req.messages[-1]["content"]))
    events = collect(make_engine(client).run(wf, {}))
    assert events[-1].output == ["a round 2", "b round 2"]
    loops = [(e.item_index, e.iterations) for e in of_type(events, "step_finished") if e.step_id == "rounds"]
    assert sorted(loops) == [(0, 2), (1, 2)]
    assert len(client.requests) == 4


def test_trace_rows_group_each_items_body_steps_under_the_map(make_engine) -> None:
    events = collect(make_engine(ScriptedClient(responder=_echo)).run(workflow(BODY), {}))
    rows = TraceRows()
    for event in events:
        rows.apply(event)

    shown = [(r.step_id, r.depth, r.label) for r in rows.rows]
    assert shown[0] == ("each", 0, "")
    assert shown[1:10] == [(s, 1, f"item {i + 1}: {t}") for i, t in enumerate(["rain", "snow", "fog"])
                           for s in ("research", "write", "sign")]
    assert shown[10] == ("join", 0, "")
    assert all(r.status == "ok" for r in rows.rows)


def test_the_body_runs_through_litellm_and_the_ledger_holds_every_call(llm_server, llm_client, make_engine) -> None:
    llm_server.set_default(lambda req: Reply(text="about " + req.messages[-1]["content"]))
    engine = make_engine(llm_client)
    events = collect(engine.run(workflow(BODY), {}))

    assert events[-1].type == "run_finished"
    calls = of_type(events, "llm_call")
    assert len(calls) == len(llm_server.requests) == 3 * 2 + 1
    assert events[-1].outputs["each"][0] == "about write rain from about research rain (rain)"
    assert events[-1].tokens_in == sum(c.tokens_in for c in calls)
    assert events[-1].cost_usd == pytest.approx(sum(c.cost_usd for c in calls))
    assert_ledger_holds_every_call_and_step(engine, events)


def test_a_map_cancelled_mid_item_resumes_without_redoing_finished_steps(llm_server, llm_client, make_engine) -> None:
    """`rain` finishes, `snow` is cut while writing: the resume asks only for what was not done."""

    def reply(req) -> Reply:
        prompt = req.messages[-1]["content"]
        slow = prompt.startswith("write snow") and not resumed
        return Reply(text="about " + prompt, latency=30 if slow else 0.0)

    resumed = False
    llm_server.set_default(reply)
    seen: list = []
    engine = make_engine(llm_client, sinks=[seen.append])
    wf = workflow(BODY.replace("[rain, snow, fog]", "[rain, snow]"))

    async def consume() -> None:
        async for event in engine.run(wf, {}):
            if event.type == "step_finished" and event.step_id == "sign" and event.item_index == 0:
                await asyncio.sleep(0.3)  # `write snow` is in flight
                raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(consume())
    first = [r.messages[-1]["content"] for r in llm_server.requests]
    assert sorted(first) == sorted(["research rain", "research snow", "write rain from about research rain",
                                    "write snow from about research snow"])

    resumed = True
    events = collect(engine.resume(seen[-1].run_id))
    assert events[-1].type == "run_finished"
    again = [r.messages[-1]["content"] for r in llm_server.requests[len(first):]]
    assert again[0] == "write snow from about research snow" and again[1].startswith("join ")
    assert len(again) == 2
    assert events[-1].outputs["each"] == ["about write rain from about research rain (rain)",
                                          "about write snow from about research snow (snow)"]
    assert_ledger_holds_every_call_and_step(engine, seen)


def test_a_map_inside_a_body_gives_each_outer_item_its_own_list(make_engine) -> None:
    wf = workflow("""
        version: 2
        name: nested
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        steps:
          - {id: groups, type: transform, value: [{name: a, nums: [1, 2]}, {name: b, nums: [3]}]}
          - id: outer
            type: map
            over: '{{ steps.groups.output }}'
            as: group
            steps:
              - {id: label, type: transform, value: 'group {{ group.name }}'}
              - id: inner
                type: map
                over: '{{ group.nums }}'
                as: n
                steps: [{id: say, type: agent, agent: w, prompt: 'say {{ n }}'}]
              - {id: both, type: transform, value: {label: '{{ steps.label.output }}', said: '{{ steps.inner.output }}'}}
    """)
    events = collect(make_engine(ScriptedClient(responder=lambda req: Say(req.messages[-1]["content"]))).run(wf, {}))
    assert events[-1].type == "run_finished", events[-1]
    assert events[-1].output == [{"label": "group a", "said": ["say 1", "say 2"]},
                                 {"label": "group b", "said": ["say 3"]}]
