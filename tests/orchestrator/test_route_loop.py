"""Routes pick one case (by value, by expression, by a classifier); loops are bounded."""

from __future__ import annotations

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

ROUTE = """
    version: 1
    name: route
    default_model: openai/gpt-4o-mini
    inputs: {kind: {default: billing}}
    agents: {a: {role: A}}
    steps:
      - id: pick
        type: route
        on: '{{ inputs.kind }}'
        cases:
          - when: billing
            steps: [{id: bill, type: agent, agent: a, prompt: bill}, {id: bill2, type: agent, agent: a, prompt: more}]
          - when: tech
            steps: [{id: tech, type: agent, agent: a, prompt: tech}]
        default: [{id: other, type: agent, agent: a, prompt: other}]
      - {id: after, type: agent, agent: a, prompt: 'after {{ steps.pick.output }}'}
"""


def test_route_on_a_value_runs_only_the_matching_case(make_engine) -> None:
    client = ScriptedClient(Say("b1"), Say("b2"), Say("done"))
    events = collect(make_engine(client).run(workflow(ROUTE), {"kind": "Billing"}))
    ran = [e.step_id for e in of_type(events, "step_started")]
    assert ran == ["pick", "bill", "bill2", "after"]
    route_done = [e for e in of_type(events, "step_finished") if e.step_id == "pick"][0]
    assert route_done.branch == "billing" and events[-1].outputs["pick"] == "b2"
    assert client.requests[-1].messages[-1]["content"] == "after b2"


def test_route_falls_back_to_default(make_engine) -> None:
    client = ScriptedClient(Say("o"), Say("done"))
    events = collect(make_engine(client).run(workflow(ROUTE), {"kind": "refund"}))
    assert [e.step_id for e in of_type(events, "step_started")] == ["pick", "other", "after"]


def test_route_by_expression_and_an_empty_default(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: expr
        default_model: openai/gpt-4o-mini
        inputs: {score: {type: integer}}
        agents: {a: {role: A}}
        steps:
          - id: gate
            type: route
            cases:
              - {when: inputs.score >= 7, steps: [{id: good, type: agent, agent: a, prompt: good}]}
            default: []
          - {id: end, type: agent, agent: a, prompt: end}
    """)
    low = collect(make_engine(ScriptedClient(Say("e"))).run(wf, {"score": 3}))
    assert [e.step_id for e in of_type(low, "step_started")] == ["gate", "end"]
    assert low[-1].outputs["gate"] is None
    high = collect(make_engine(ScriptedClient(Say("g"), Say("e"))).run(wf, {"score": 9}))
    assert [e.step_id for e in of_type(high, "step_started")] == ["gate", "good", "end"]


def test_route_by_classifier_asks_the_model_for_one_label(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: classify
        default_model: openai/gpt-4o-mini
        agents: {a: {role: A}}
        steps:
          - id: tone
            type: route
            classify: {prompt: 'How does this sound? rude words'}
            cases:
              - {when: harsh, steps: [{id: soften, type: agent, agent: a, prompt: soften}]}
              - {when: fine, steps: [{id: keep, type: agent, agent: a, prompt: keep}]}
            default: []
    """)
    client = ScriptedClient(Say.json({"label": "harsh"}), Say("softer"))
    events = collect(make_engine(client).run(wf, {}))
    assert client.requests[0].json_schema["properties"]["label"]["enum"] == ["harsh", "fine"]
    assert [e.step_id for e in of_type(events, "step_started")] == ["tone", "soften"]
    assert events[-1].output == "softer"
    # the classifier's call is accounted to the route step
    assert of_type(events, "llm_call")[0].step_id == "tone"


def test_loop_stops_when_until_holds(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: loop
        default_model: openai/gpt-4o-mini
        agents:
          writer: {role: W}
          reviewer: {role: R, output: {approved: {type: boolean}, feedback: {}}}
        steps:
          - id: revise
            type: loop
            max_iterations: 5
            until: steps.review.output.approved == true
            steps:
              - {id: draft, type: agent, agent: writer, prompt: 'draft round {{ loop.iteration }}'}
              - {id: review, type: agent, agent: reviewer, prompt: 'review {{ steps.draft.output }}'}
          - {id: final, type: agent, agent: writer, prompt: 'final {{ steps.draft.output }}'}
    """)
    client = ScriptedClient(
        Say("d1"), Say.json({"approved": False, "feedback": "more"}),
        Say("d2"), Say.json({"approved": True, "feedback": ""}),
        Say("polished"),
    )
    events = collect(make_engine(client).run(wf, {}))
    drafts = [e for e in of_type(events, "step_started") if e.step_id == "draft"]
    assert [e.iteration for e in drafts] == [1, 2]
    assert client.requests[2].messages[-1]["content"] == "draft round 2"
    loop_done = [e for e in of_type(events, "step_finished") if e.step_id == "revise"][0]
    assert loop_done.iterations == 2
    assert events[-1].output == "polished" and not of_type(events, "warning")
    client.assert_all_used()


def test_loop_is_bounded_by_max_iterations_with_a_warning(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: bounded
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        steps:
          - id: forever
            type: loop
            max_iterations: 3
            until: steps.try_it.output == "never"
            steps: [{id: try_it, type: agent, agent: w, prompt: 'try {{ loop.iteration }}'}]
    """)
    client = ScriptedClient(responder=lambda req: Say("again"))
    events = collect(make_engine(client).run(wf, {}))
    assert len(client.requests) == 3
    assert "max_iterations=3" in of_type(events, "warning")[0].message
    assert events[-1].type == "run_finished"
