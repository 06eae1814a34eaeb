"""Approval steps pause the run (`interrupt()`); a decision resumes it, even in a new process."""

from __future__ import annotations

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.runner import ApprovalDecision

APPROVAL = """
    version: 1
    name: approval
    default_model: openai/gpt-4o-mini
    agents: {w: {role: Writer}}
    steps:
      - {id: draft, type: agent, agent: w, prompt: draft}
      - {id: check, type: approval, message: 'Publish this? {{ steps.draft.output }}', on_reject: %s}
      - {id: publish, type: agent, agent: w, prompt: 'publish {{ steps.draft.output }} {{ steps.check.output.feedback }}'}
"""


def test_the_run_pauses_then_resumes_with_the_decision_in_a_new_engine(make_engine) -> None:
    first = collect(make_engine(ScriptedClient(Say("a draft"))).run(workflow(APPROVAL % "stop"), {}, run_id="r1"))
    assert [e.type for e in first[-2:]] == ["approval_requested", "run_interrupted"]
    assert first[-2].message == "Publish this? a draft" and first[-1].outputs == {"draft": "a draft"}

    restarted = make_engine(ScriptedClient(Say("published")))  # as after a process restart
    pending = restarted.pending_approval("r1")
    assert pending is not None and pending.step_id == "check"
    again = collect(restarted.resume("r1"))  # no decision yet: it just asks again
    assert [e.type for e in again] == ["run_started", "approval_requested", "run_interrupted"]

    done = collect(restarted.resume("r1", approval=ApprovalDecision(True, "ship it")))
    assert done[0].resumed and done[-1].type == "run_finished"
    resolved = of_type(done, "approval_resolved")[0]
    assert (resolved.approved, resolved.feedback) == (True, "ship it")
    assert done[-1].outputs["check"] == {"approved": True, "feedback": "ship it"}
    assert restarted.client.requests[0].messages[-1]["content"] == "publish a draft ship it"
    assert min(e.seq for e in done) > max(e.seq for e in first + again)
    assert restarted.pending_approval("r1") is None


def test_a_rejection_with_stop_cancels_the_run(make_engine) -> None:
    engine = make_engine(ScriptedClient(Say("a draft")))
    collect(engine.run(workflow(APPROVAL % "stop"), {}, run_id="r2"))
    events = collect(engine.resume("r2", approval=ApprovalDecision(False, "too long")))
    assert events[-1].type == "run_cancelled" and events[-1].reason == "rejected"
    assert events[-1].outputs == {"draft": "a draft"}


def test_a_rejection_with_continue_lets_later_steps_read_the_feedback(make_engine) -> None:
    engine = make_engine(ScriptedClient(Say("a draft"), Say("revised")))
    collect(engine.run(workflow(APPROVAL % "continue"), {}, run_id="r3"))
    events = collect(engine.resume("r3", approval=ApprovalDecision(False, "shorter")))
    assert events[-1].type == "run_finished"
    assert events[-1].outputs["check"] == {"approved": False, "feedback": "shorter"}
    assert engine.client.requests[-1].messages[-1]["content"] == "publish a draft shorter"


def test_an_approval_inside_a_parallel_loop_branch_pauses_and_resumes(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: nested-approval
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        steps:
          - id: both
            type: parallel
            branches:
              - {id: side, type: agent, agent: w, prompt: side}
              - id: gate
                type: loop
                max_iterations: 1
                until: steps.ok.output.approved == true
                steps: [{id: ok, type: approval, message: go?}]
          - {id: last, type: agent, agent: w, prompt: 'last {{ steps.side.output }}'}
    """)
    engine = make_engine(ScriptedClient(Say("s"), Say("end")))
    first = collect(engine.run(wf, {}, run_id="r4"))
    assert first[-1].type == "run_interrupted" and first[-2].step_id == "ok"
    done = collect(engine.resume("r4", approval=ApprovalDecision(True)))
    assert done[-1].type == "run_finished" and done[-1].output == "end"
    assert done[-1].outputs["ok"] == {"approved": True, "feedback": ""}
    engine.client.assert_all_used()  # `side` was not run again


def test_resuming_an_unknown_or_finished_run_is_refused(make_engine) -> None:
    import pytest

    from orchestrator.errors import RunNotResumable

    engine = make_engine(ScriptedClient(Say("x")))
    with pytest.raises(RunNotResumable, match="no run `nope`"):
        collect(engine.resume("nope"))
    wf = workflow("""
        version: 1
        name: one
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        steps: [{id: s, type: agent, agent: w, prompt: s}]
    """)
    collect(engine.run(wf, {}, run_id="done"))
    with pytest.raises(RunNotResumable, match="already ended"):
        collect(engine.resume("done"))


def test_two_approvals_pending_at_once_are_answered_one_after_the_other(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: two-gates
        default_model: openai/gpt-4o-mini
        agents: {w: {role: W}}
        steps:
          - id: gates
            type: parallel
            branches:
              - {id: legal, type: approval, message: legal ok?, on_reject: continue}
              - {id: brand, type: approval, message: brand ok?, on_reject: continue}
          - {id: go, type: agent, agent: w, prompt: 'go {{ steps.legal.output.approved }} {{ steps.brand.output.approved }}'}
    """)
    engine = make_engine(ScriptedClient(Say("went")))
    first = collect(engine.run(wf, {}, run_id="r5"))
    asked_first = first[-2].step_id
    second = collect(engine.resume("r5", approval=ApprovalDecision(True)))
    assert second[-1].type == "run_interrupted"
    asked_second = second[-2].step_id
    assert {asked_first, asked_second} == {"legal", "brand"}
    done = collect(engine.resume("r5", approval=ApprovalDecision(False, "meh")))
    assert done[-1].type == "run_finished"
    assert done[-1].outputs[asked_first]["approved"] is True and done[-1].outputs[asked_second]["approved"] is False
