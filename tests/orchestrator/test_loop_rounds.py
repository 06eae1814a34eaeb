"""Data across loop rounds: `loop.previous`, `loop.history` and `loop.iteration`, through a resume."""

from __future__ import annotations

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient
from test_engine_litellm import assert_ledger_holds_every_call_and_step

from orchestrator.runner import ApprovalDecision

LOOP = """
    version: 2
    name: rounds
    default_model: openai/gpt-4o-mini
    agents:
      writer: {role: Writer}
      reviewer:
        role: Reviewer
        output: {approved: {type: boolean}, feedback: {}}
    steps:
      - id: revise
        type: loop
        max_iterations: 3
        until: steps.review.output.approved == true
        steps:
          - id: draft
            type: agent
            agent: writer
            prompt: 'round {{ loop.iteration }}; last draft: {{ loop.previous.draft.output }}; fix: {{ loop.previous.review.output.feedback }}; all feedback: {{ join(pluck(loop.history.review, "feedback"), " | ") }}'
          - {id: review, type: agent, agent: reviewer, prompt: 'review {{ steps.draft.output }}'}
          - {id: check, type: approval, message: 'Round {{ loop.iteration }}: {{ steps.review.output.feedback }}'}
      - {id: final, type: agent, agent: writer, prompt: 'final {{ steps.draft.output }}'}
"""


def test_each_round_reads_the_previous_round_even_after_a_restart(make_engine) -> None:
    first = make_engine(ScriptedClient(Say("d1"), Say.json({"approved": False, "feedback": "shorter"})))
    events = collect(first.run(workflow(LOOP), {}, run_id="r1"))
    assert events[-1].type == "run_interrupted"

    # a new engine, as after a process restart: the rounds so far come back from the checkpoint
    client = ScriptedClient(Say("d2"), Say.json({"approved": False, "feedback": "warmer"}),
                            Say("d3"), Say.json({"approved": True, "feedback": ""}), Say("done"))
    engine = make_engine(client)
    events += collect(engine.resume("r1", approval=ApprovalDecision(True)))
    events += collect(engine.resume("r1", approval=ApprovalDecision(True)))
    events += collect(engine.resume("r1", approval=ApprovalDecision(True)))
    assert events[-1].type == "run_finished", events[-1]

    prompts = [r.messages[-1]["content"] for r in client.requests]
    assert first.client.requests[0].messages[-1]["content"] == "round 1; last draft: ; fix: ; all feedback: "
    assert prompts[0] == "round 2; last draft: d1; fix: shorter; all feedback: shorter"
    assert prompts[2] == "round 3; last draft: d2; fix: warmer; all feedback: shorter | warmer"
    assert prompts[4] == "final d3"
    assert [e.iteration for e in of_type(events, "step_started") if e.step_id == "draft"] == [1, 2, 3]
    client.assert_all_used()
    assert_ledger_holds_every_call_and_step(engine, events)
