"""Supervisors whose workers share the conversation, and workers that are teams (sub-flows)."""

from __future__ import annotations

from engine_testing import collect, of_type, workflow
from scripted import Say, ScriptedClient
from test_engine_litellm import assert_ledger_holds_every_call_and_step

SHARED = """
    version: 2
    name: shared
    default_model: openai/gpt-4o-mini
    agents:
      lead: {role: Lead editor, max_tool_calls: 0}
      researcher: {role: Researcher}
      writer: {role: Writer}
    steps:
      - id: team
        type: supervisor
        manager: lead
        workers: [researcher, writer]
        task: Brief on tides
        conversation: shared
        max_delegations: 3
"""


def test_shared_conversation_shows_each_worker_the_task_delegations_and_earlier_answers(make_engine) -> None:
    client = ScriptedClient(
        Say(tool_calls=[("researcher", {"task": "find tide facts"})]),
        Say("the moon pulls the sea"),
        Say(tool_calls=[("writer", {"task": "write it up"})]),
        Say("Tides follow the moon."),
        Say("Final: tides follow the moon."),
    )
    events = collect(make_engine(client).run(workflow(SHARED), {}))

    assert events[-1].output == "Final: tides follow the moon."
    researcher_prompt = client.requests[1].messages[-1]["content"]
    assert researcher_prompt.endswith("Your sub-task: find tide facts")
    assert "[task] Brief on tides" in researcher_prompt
    writer_prompt = client.requests[3].messages[-1]["content"]
    assert writer_prompt.index("[task] Brief on tides") < writer_prompt.index("[lead → researcher] find tide facts")
    assert writer_prompt.index("[lead → researcher]") < writer_prompt.index("[researcher] the moon pulls the sea")
    assert writer_prompt.endswith("Your sub-task: write it up")
    manager_sees = [m["content"] for m in client.requests[4].messages if m["role"] == "tool"]
    assert manager_sees == ["the moon pulls the sea", "Tides follow the moon."]  # the full answers
    assert not of_type(events, "warning")


def test_isolated_workers_see_only_their_sub_task(make_engine) -> None:
    client = ScriptedClient(Say(tool_calls=[("researcher", {"task": "find tide facts"})]), Say("moon"), Say("done"))
    collect(make_engine(client).run(workflow(SHARED.replace("conversation: shared", "conversation: isolated")), {}))
    assert client.requests[1].messages[-1]["content"] == "find tide facts"


def test_a_long_shared_conversation_keeps_the_task_and_the_newest_messages(make_engine) -> None:
    wf = workflow(SHARED.replace("max_delegations: 3", "max_delegations: 3\n        shared_history_chars: 1000"))
    long = "x" * 450
    client = ScriptedClient(
        Say(tool_calls=[("researcher", {"task": "first"})]), Say("A" + long),
        Say(tool_calls=[("researcher", {"task": "second"})]), Say("B" + long),
        Say(tool_calls=[("writer", {"task": "third"})]), Say("C"),
        Say("done"),
    )
    events = collect(make_engine(client).run(wf, {}))
    third = client.requests[5].messages[-1]["content"]
    assert "[task] Brief on tides" in third and "[researcher] B" + long in third
    assert "[researcher] A" not in third  # the oldest answer was left out, and the note says so
    assert "earlier message(s) left out to stay within shared_history_chars=1000" in third
    warnings = of_type(events, "warning")
    assert len(warnings) == 1 and "shared_history_chars=1000" in warnings[0].message


TEAMS = """
    version: 2
    name: teams
    default_model: openai/gpt-4o-mini
    agents:
      lead: {role: Lead, max_tool_calls: 0}
      searcher: {role: Searcher}
      summariser: {role: Summariser}
      chief: {role: Chief of the paper team, max_tool_calls: 0}
      writer: {role: Writer}
    steps:
      - id: top
        type: supervisor
        manager: lead
        task: Report on tides
        max_delegations: 2
        teams:
          - name: research
            description: finds and summarises sources
            steps:
              - {id: search, type: agent, agent: searcher, prompt: 'Search for {{ task }}'}
              - {id: summary, type: agent, agent: summariser, prompt: 'Summarise {{ steps.search.output }}'}
          - name: paper
            steps:
              - id: paper_lead
                type: supervisor
                manager: chief
                workers: [writer]
                task: 'Write: {{ task }}'
                max_delegations: 1
      - {id: after, type: agent, agent: writer, prompt: 'Polish {{ steps.top.output }}'}
"""


def test_a_team_runs_its_steps_for_the_sub_task_and_answers_with_its_last_output(make_engine) -> None:
    client = ScriptedClient(by_step={
        "top": [Say(tool_calls=[("research", {"task": "tide causes"})]),
                Say(tool_calls=[("paper", {"task": "a short report"})]), Say("Final report")],
        "search": [Say("three sources")],
        "summary": [Say("the moon and the sun")],
        "paper_lead": [Say(tool_calls=[("writer", {"task": "draft it"})]), Say("paper done")],
        "after": [Say("polished")],
    })
    client.by_step["paper_lead"].insert(1, Say("a draft"))  # the writer answers under the team lead's step
    engine = make_engine(client)
    events = collect(engine.run(workflow(TEAMS), {}))

    assert events[-1].type == "run_finished" and events[-1].output == "polished"
    by_step = {r.step_id: r for r in client.requests}
    assert by_step["search"].messages[-1]["content"] == "Search for tide causes"
    offered = {t["function"]["name"]: t["function"]["description"] for t in client.requests[0].tools}
    assert set(offered) == {"research", "paper"} and "finds and summarises sources" in offered["research"]
    tool_results = {r.tool: r.result for r in of_type(events, "tool_result") if r.step_id == "top"}
    assert tool_results == {"research": "the moon and the sun", "paper": "paper done"}
    assert by_step["paper_lead"].messages[1]["content"] == "Write: a short report"

    order = [(e.type, e.step_id) for e in events if e.type in ("step_started", "step_finished")]
    assert order == [
        ("step_started", "top"),
        ("step_started", "search"), ("step_finished", "search"),
        ("step_started", "summary"), ("step_finished", "summary"),
        ("step_started", "paper_lead"), ("step_finished", "paper_lead"),
        ("step_finished", "top"),
        ("step_started", "after"), ("step_finished", "after"),
    ]
    finished = events[-1]
    calls = of_type(events, "llm_call")
    assert len(calls) == 9 and finished.tokens_in == sum(c.tokens_in for c in calls)
    assert set(finished.outputs) == {"top", "search", "summary", "paper_lead", "after"}
    assert_ledger_holds_every_call_and_step(engine, events)
    client.assert_all_used()


def test_a_failing_team_step_goes_back_to_the_manager_and_still_counts(make_engine) -> None:
    client = ScriptedClient(by_step={
        "top": [Say(tool_calls=[("research", {"task": "tides"})]), Say("answered without it")],
        "search": [Say("sources")],
        "summary": [Say(error=RuntimeError("model down"))],
        "after": [Say("polished")],
    })
    engine = make_engine(client)
    events = collect(engine.run(workflow(TEAMS), {}))
    assert events[-1].type == "run_finished"
    result = next(r for r in of_type(events, "tool_result") if r.tool == "research")
    assert not result.ok and "model down" in result.result
    assert_ledger_holds_every_call_and_step(engine, events)


LOOPED = """
    version: 2
    name: looped
    default_model: openai/gpt-4o-mini
    agents:
      lead: {role: Lead, max_tool_calls: 0}
      drafter: {role: Drafter}
      critic: {role: Critic, output: {ok: {type: boolean}}}
      short: {role: Short answers}
    steps:
      - id: rounds
        type: loop
        max_iterations: 2
        until: 'false'
        steps:
          - id: top
            type: supervisor
            manager: lead
            task: 'Round {{ loop.iteration }}'
            max_delegations: 1
            teams:
              - name: drafting
                steps:
                  - id: refine
                    type: loop
                    max_iterations: 2
                    until: steps.judge.output.ok
                    steps:
                      - {id: draft, type: agent, agent: drafter, prompt: 'Draft {{ task }}'}
                      - {id: judge, type: agent, agent: critic, prompt: 'Judge {{ steps.draft.output }}'}
                  - id: pick
                    type: route
                    cases:
                      - when: steps.judge.output.ok
                        steps: [{id: keep, type: agent, agent: short, prompt: 'Keep {{ steps.draft.output }}'}]
                    default: [{id: redo, type: agent, agent: short, prompt: 'Redo {{ task }}'}]
"""


def test_a_team_runs_loops_and_routes_and_a_looped_supervisor_delegates_again(make_engine) -> None:
    delegate = Say(tool_calls=[("drafting", {"task": "the intro"})])
    client = ScriptedClient(by_step={
        "top": [delegate, Say("round 1 done"), delegate, Say("round 2 done")],
        "draft": [Say("d1"), Say("d2"), Say("d3")],
        "judge": [Say.json({"ok": False}), Say.json({"ok": True}), Say.json({"ok": True})],
        "keep": [Say("kept d2"), Say("kept d3")],
    })
    engine = make_engine(client)
    events = collect(engine.run(workflow(LOOPED), {}))

    assert events[-1].type == "run_finished", events[-1]
    answers = [r.result for r in of_type(events, "tool_result")]
    assert answers == ["kept d2", "kept d3"]  # the route's branch output is the team's answer
    drafts = [e.step_id for e in of_type(events, "step_finished") if e.step_id == "draft"]
    assert len(drafts) == 3  # two rounds of the inner loop, then one
    assert_ledger_holds_every_call_and_step(engine, events)
    client.assert_all_used()


def test_the_team_example_runs_on_the_offline_model(make_engine) -> None:
    from pathlib import Path

    from orchestrator.credentials import Credentials
    from orchestrator.llm import LiteLLMClient
    from orchestrator.offline_model import MODEL
    from orchestrator.policy import Policy
    from schemas import load_workflow_file

    example = Path(__file__).resolve().parents[2] / "examples" / "team_of_teams.yaml"
    engine = make_engine(LiteLLMClient(Credentials()), policy=Policy(default_model=MODEL))
    events = collect(engine.run(load_workflow_file(example), {}))

    assert events[-1].type == "run_finished", events[-1]
    outputs = events[-1].outputs
    assert outputs["search"].startswith("[offline model]") and "Facts about" in outputs["search"]
    assert "Check these facts" in outputs["check"]  # the team's steps ran in order on the sub-task
    delegated = [c for c in of_type(events, "tool_call") if c.step_id == "report"]
    assert [c.tool for c in delegated] == ["research_team"]  # the offline model calls its first tool once
    assert outputs["report"].startswith("[offline model]")
    assert_ledger_holds_every_call_and_step(engine, events)


def test_a_step_limit_reached_inside_a_team_ends_the_run(make_engine) -> None:
    wf = workflow(LOOPED.replace("name: looped", "name: looped\n    limits: {max_steps: 4}"))
    client = ScriptedClient(by_step={
        "top": [Say(tool_calls=[("drafting", {"task": "the intro"})]), Say("answered anyway")],
        "draft": [Say("d1")],
        "judge": [Say.json({"ok": False})],
    })
    events = collect(make_engine(client).run(wf, {}))
    assert events[-1].type == "run_failed" and events[-1].reason == "budget", events[-1]
    assert "max_steps" in events[-1].message
    assert not [r for r in client.requests if r.step_id == "top"][1:]  # the manager was not asked again


def test_delegations_to_teams_are_bounded_like_any_other(make_engine) -> None:
    wf = workflow(TEAMS.replace("max_delegations: 2\n        teams:", "max_delegations: 1\n        teams:"))
    twice = Say(tool_calls=[("research", {"task": "a"}), ("research", {"task": "b"})])
    client = ScriptedClient(by_step={"top": [twice, Say("final")], "search": [Say("s")], "summary": [Say("sum")],
                                     "after": [Say("polished")]})
    events = collect(make_engine(client).run(wf, {}))
    results = sorted(of_type(events, "tool_result"), key=lambda r: r.call_id)
    assert [r.ok for r in results].count(True) == 1
    assert "limit of this step is reached" in next(r.result for r in results if not r.ok)
    assert len([e for e in of_type(events, "step_finished") if e.step_id == "search"]) == 1  # the team ran once
    client.assert_all_used()


def test_the_shared_transcript_never_exceeds_its_cap_and_keeps_the_task_and_the_newest_answer() -> None:
    from orchestrator.nodes.supervisor import Conversation

    for cap in (1000, 2500, 12_000):
        for answer_chars in (10, 400, 5000):
            conversation = Conversation(cap)
            conversation.add("task", "T" * 50)
            for k in range(12):
                conversation.add(f"lead → w{k}", f"sub-task {k}")
                conversation.add(f"w{k}", str(k % 10) * answer_chars)
            text, cut = conversation.render()
            assert len(text) <= cap
            assert text.startswith("[task] " + "T" * 50)
            assert "[w11] 1" in text  # the newest answer, cut at its end when it alone is too long
            assert cut == (len("\n\n".join(f"[{s}] {t}" for s, t in conversation.entries)) > cap)

    short = Conversation(1000)
    short.add("task", "x" * 2000)
    text, cut = short.render()
    assert cut and text.endswith("…") and len(text) == 1000 // 3


def test_a_teams_steps_sit_under_their_supervisor_in_the_trace(make_engine) -> None:
    from orchestrator.trace_rows import TraceRows

    client = ScriptedClient(by_step={
        "top": [Say(tool_calls=[("research", {"task": "tide causes"})]), Say("Final report")],
        "search": [Say("sources")], "summary": [Say("the moon")], "after": [Say("polished")],
    })
    events = collect(make_engine(client).run(workflow(TEAMS), {}))
    assert {e.step_id: e.parent for e in of_type(events, "step_started")} == {
        "top": None, "search": "top", "summary": "top", "after": None}
    rows = TraceRows()
    rows.apply_all(events)
    assert [(r.step_id, r.depth) for r in rows.rows] == [("top", 0), ("search", 1), ("summary", 1), ("after", 0)]
