"""`ask` steps pause the run with a question; the person's answer is an output later steps read."""

from __future__ import annotations

import pytest
from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

from orchestrator.errors import InvalidAnswer
from orchestrator.runner import ApprovalDecision
from schemas import validate_text

ASK = """
    version: 2
    name: ask-tone
    default_model: openai/gpt-4o-mini
    agents: {w: {role: Writer}}
    steps:
      - {id: draft, type: agent, agent: w, prompt: draft}
      - id: tone
        type: ask
        question: 'Which tone for "{{ steps.draft.output }}"?'
        choices: [Formal, Playful]
      - id: style
        type: route
        on: '{{ steps.tone.output }}'
        cases:
          - when: Formal
            steps: [{id: formal, type: agent, agent: w, prompt: 'formal {{ steps.draft.output }}'}]
        default:
          - {id: playful, type: agent, agent: w, prompt: 'playful {{ steps.draft.output }}'}
"""


def test_the_run_pauses_with_the_question_and_its_choices_then_reads_the_answer(make_engine) -> None:
    first = collect(make_engine(ScriptedClient(Say("a draft"))).run(workflow(ASK), {}, run_id="q1"))
    asked, paused = first[-2:]
    assert (asked.type, paused.type) == ("approval_requested", "run_interrupted")
    assert (asked.kind, asked.message, asked.choices) == ("input", 'Which tone for "a draft"?', ["Formal", "Playful"])

    restarted = make_engine(ScriptedClient(Say("Dear reader")))  # as after a process restart
    assert restarted.pending_approval("q1").kind == "input"
    done = collect(restarted.resume("q1", approval=ApprovalDecision(True, " formal ")))
    assert done[-1].type == "run_finished"
    assert done[-1].outputs["tone"] == "Formal"  # the choice as written in the config
    assert of_type(done, "approval_resolved")[0].feedback == "Formal"
    assert restarted.client.requests[0].messages[-1]["content"] == "formal a draft"


def test_an_answer_outside_the_choices_is_refused_and_the_run_keeps_waiting(make_engine) -> None:
    engine = make_engine(ScriptedClient(Say("a draft"), Say("Hey there")))
    collect(engine.run(workflow(ASK), {}, run_id="q2"))
    with pytest.raises(InvalidAnswer, match="needs one of 'Formal', 'Playful'"):
        collect(engine.resume("q2", approval=ApprovalDecision(True, "sarcastic")))
    assert engine.pending_approval("q2") is not None
    done = collect(engine.resume("q2", approval=ApprovalDecision(True, "Playful")))
    assert done[-1].type == "run_finished" and done[-1].output == "Hey there"


def test_declining_to_answer_stops_the_run(make_engine) -> None:
    engine = make_engine(ScriptedClient(Say("a draft")))
    collect(engine.run(workflow(ASK), {}, run_id="q3"))
    done = collect(engine.resume("q3", approval=ApprovalDecision(False)))
    assert done[-1].type == "run_cancelled" and done[-1].reason == "rejected"


def test_free_text_questions_take_any_answer_but_an_empty_one(make_engine) -> None:
    wf = workflow(ASK.replace("        choices: [Formal, Playful]\n", ""))
    engine = make_engine(ScriptedClient(Say("a draft"), Say("Hey there")))
    assert collect(engine.run(wf, {}, run_id="q4"))[-2].choices is None
    with pytest.raises(InvalidAnswer, match="needs some text"):
        collect(engine.resume("q4", approval=ApprovalDecision(True, "  ")))
    done = collect(engine.resume("q4", approval=ApprovalDecision(True, "cheerful, please")))
    assert done[-1].outputs["tone"] == "cheerful, please"


def test_choices_that_differ_only_in_case_are_a_located_error() -> None:
    text = "version: 2\nname: q\nagents: {w: {role: W}}\nsteps:\n  - {id: q, type: ask, question: Go?, choices: [Yes, ' yes']}\n"
    [error] = validate_text(text, "q.yaml").errors
    assert (error.line, error.column) == (5, 48)
    assert "choices must differ from each other" in error.message
