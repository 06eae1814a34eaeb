"""Agent tool loops, agent-as-tool, supervisors and structured outputs."""

from __future__ import annotations

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient

SUPERVISOR = """
    version: 1
    name: supervised
    default_model: openai/gpt-4o-mini
    agents:
      lead: {role: Lead editor, max_tool_calls: 0}
      researcher: {role: Researcher, goal: Find facts}
      writer: {role: Writer}
    steps:
      - {id: team, type: supervisor, manager: lead, workers: [researcher, writer], task: 'Brief on tides', max_delegations: 2}
"""


def test_supervisor_delegates_to_workers_as_tools_until_it_answers(make_engine) -> None:
    client = ScriptedClient(
        Say(tool_calls=[("researcher", {"task": "find tide facts"})]),
        Say("the moon"),  # the researcher's answer
        Say(tool_calls=[("writer", {"task": "write it up: the moon"})]),
        Say("Tides follow the moon."),  # the writer
        Say("Final: tides follow the moon."),
    )
    events = collect(make_engine(client).run(workflow(SUPERVISOR), {}))

    assert events[-1].output == "Final: tides follow the moon."
    offered = {t["function"]["name"] for t in client.requests[0].tools}
    assert offered == {"researcher", "writer"}
    assert client.requests[1].messages[0]["content"].startswith("You are Researcher.")
    assert client.requests[1].messages[-1]["content"] == "find tide facts"
    tool_msgs = [m for m in client.requests[2].messages if m["role"] == "tool"]
    assert tool_msgs[-1]["content"] == "the moon"
    results = of_type(events, "tool_result")
    assert [r.tool for r in results] == ["researcher", "writer"] and all(r.ok for r in results)
    assert all(e.step_id == "team" for e in of_type(events, "llm_call"))
    client.assert_all_used()


def test_supervisor_delegations_are_bounded(make_engine) -> None:
    keep_delegating = Say(tool_calls=[("researcher", {"task": "more"})])
    client = ScriptedClient(keep_delegating, Say("r1"), keep_delegating, Say("r2"), Say("answer anyway"))
    events = collect(make_engine(client).run(workflow(SUPERVISOR), {}))
    assert events[-1].output == "answer anyway"
    assert client.requests[-1].tools is None  # out of delegations: no tools offered any more


def test_delegations_stay_bounded_when_the_manager_also_has_tool_calls(make_engine) -> None:
    wf = workflow(SUPERVISOR.replace("lead: {role: Lead editor, max_tool_calls: 0}", "lead: {role: Lead editor}"))
    three_at_once = Say(tool_calls=[("researcher", {"task": "a"}), ("writer", {"task": "b"}), ("researcher", {"task": "c"})])
    client = ScriptedClient(three_at_once, Say("r1"), Say("w1"), Say("final"))
    events = collect(make_engine(client).run(wf, {}))
    results = sorted(of_type(events, "tool_result"), key=lambda r: r.call_id)
    assert [r.ok for r in results].count(True) == 2  # max_delegations: 2
    assert "no delegations left" in next(r.result for r in results if not r.ok)
    assert events[-1].output == "final"


def test_tool_errors_go_back_to_the_model_as_results(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: fetcher
        default_model: openai/gpt-4o-mini
        agents: {a: {role: A, tools: [web]}}
        tools:
          web: {type: http, allow: ['https://api.example.com/*']}
        steps: [{id: look, type: agent, agent: a, prompt: look}]
    """)
    client = ScriptedClient(
        Say(tool_calls=[("web", {"url": "http://127.0.0.1:1/secret"}), ("nope", {}), ("web", "{bad json")]),
        Say("I could not fetch it."),
    )
    events = collect(make_engine(client).run(wf, {}))
    results = sorted(of_type(events, "tool_result"), key=lambda r: r.call_id)  # they ran concurrently
    assert [r.ok for r in results] == [False, False, False]
    assert "allow-list" in results[0].result
    assert "no tool `nope`" in results[1].result
    assert "not valid JSON" in results[2].result
    assert events[-1].type == "run_finished" and events[-1].output == "I could not fetch it."


def test_structured_output_gets_one_repair_attempt(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: structured
        default_model: openai/gpt-4o-mini
        agents:
          judge: {role: Judge, output: {score: {type: integer}, verdict: {enum: [pass, fail]}}}
        steps: [{id: rate, type: agent, agent: judge, prompt: rate it}]
    """)
    client = ScriptedClient(Say("Score: 7, pass"), Say('```json\n{"score": 7, "verdict": "pass"}\n```'))
    events = collect(make_engine(client).run(wf, {}))
    assert events[-1].output == {"score": 7, "verdict": "pass"}
    assert client.requests[0].json_schema["required"] == ["score", "verdict"]
    assert "not a JSON object" in client.requests[1].messages[-1]["content"]
    assert "asking it to fix" in of_type(events, "warning")[0].message


def test_structured_output_fails_the_step_clearly_after_the_repair(make_engine) -> None:
    wf = workflow("""
        version: 1
        name: structured
        default_model: openai/gpt-4o-mini
        agents:
          judge: {role: Judge, output: {score: {type: integer}}}
        steps: [{id: rate, type: agent, agent: judge, prompt: rate it}]
    """)
    client = ScriptedClient(Say('{"score": "high"}'), Say('{"score": "very high"}'))
    events = collect(make_engine(client).run(wf, {}))
    failed = events[-1]
    assert failed.type == "run_failed" and failed.reason == "step_failed" and failed.step_id == "rate"
    assert "`judge`" in failed.message and "repair" in failed.message and "`score`" in failed.message
