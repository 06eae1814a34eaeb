"""The tool-call journal's promises, process by process (each `ToolJournal` stands for one process)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.tool_journal import INTERRUPTED, ToolJournal


def test_a_call_finished_before_the_crash_is_replayed_once_and_a_running_one_is_reported_unknown(
        tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    done, running = ToolJournal.key("fetch", "record", '{"url": "a"}'), ToolJournal.key("fetch", "record", '{"url": "b"}')
    before = ToolJournal(path)  # the process that dies
    before.begin("r1", done)
    before.end("r1", done, True, "recorded a")
    before.begin("r1", running)  # ...killed while this tool was running

    after = ToolJournal(path)  # the next process resumes the run
    after.start_segment("r1")
    assert after.replay("r1", done) == (True, "recorded a")
    assert after.replay("r1", running) == (False, INTERRUPTED)
    assert after.replay("r1", done) is None  # the model asks again in the same step: this time it runs
    assert after.replay("r2", done) is None  # other runs never see it
    after.start_segment("r1")  # cancelled and resumed again without finishing the step
    assert after.replay("r1", done) == (True, "recorded a")

    after.forget_run("r1")  # the run finished: nothing of it is replayed any more
    after.start_segment("r1")
    assert after.replay("r1", done) is None and after.replay("r1", running) is None
    before.close()
    after.close()


def test_keys_tell_steps_tools_and_arguments_apart() -> None:
    base = ToolJournal.key("fetch", "record", "{}")
    assert len({base, ToolJournal.key("other", "record", "{}"), ToolJournal.key("fetch", "other", "{}"),
                ToolJournal.key("fetch", "record", '{"x": 1}')}) == 4
    assert ToolJournal.key("fetch", "record", "{}") == base


def test_each_loop_iteration_runs_its_tool_call_though_the_arguments_repeat(data_dir, llm_server, llm_client,
                                                                           counter) -> None:
    """The journal keys a call by its step execution, so only a crash re-run is replayed."""
    from faults_testing import collect, workflow

    from orchestrator.policy import Policy
    from orchestrator.runner import Engine
    from testkit.replies import Reply, ToolCallSpec

    wf = workflow(f"""
        version: 1
        name: looped-tool
        default_model: openai/gpt-4o-mini
        tools:
          record: {{type: http, description: Record a visit, allow: ['{counter.url}/*']}}
        agents: {{w: {{role: Recorder, tools: [record]}}}}
        steps:
          - id: rounds
            type: loop
            max_iterations: 2
            until: 'false'
            steps: [{{id: visit, type: agent, agent: w, prompt: 'visit'}}]
    """)

    def model(req):
        if any(m.get("role") == "tool" for m in req.messages):
            return Reply(text="visited")
        return Reply(tool_calls=[ToolCallSpec("record", {"url": f"{counter.url}/hit/same"})])

    llm_server.set_default(model)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=llm_client.credentials,
                    policy=Policy(allow_private_http=True))
    events = collect(engine.run(wf, {}))
    assert events[-1].type == "run_finished"
    assert counter.hits["/hit/same"] == 2  # once per iteration: neither replayed nor lost


def test_each_map_item_runs_its_tool_call_though_the_arguments_repeat(data_dir, llm_server, llm_client,
                                                                     counter) -> None:
    """Map items run the same body step at once: the journal keys each item's execution apart."""
    from faults_testing import collect, workflow

    from orchestrator.policy import Policy
    from orchestrator.runner import Engine
    from testkit.replies import Reply, ToolCallSpec

    wf = workflow(f"""
        version: 2
        name: mapped-tool
        default_model: openai/gpt-4o-mini
        inputs: {{places: {{type: list, default: [a, b, c]}}}}
        tools:
          record: {{type: http, description: Record a visit, allow: ['{counter.url}/*']}}
        agents: {{w: {{role: Recorder, tools: [record]}}}}
        steps:
          - id: each
            type: map
            over: '{{{{ inputs.places }}}}'
            steps:
              - {{id: visit, type: agent, agent: w, prompt: 'visit {{{{ item }}}}'}}
              - {{id: note, type: transform, value: '{{{{ item }}}}: {{{{ steps.visit.output }}}}'}}
    """)

    def model(req):
        if any(m.get("role") == "tool" for m in req.messages):
            return Reply(text="visited")
        return Reply(tool_calls=[ToolCallSpec("record", {"url": f"{counter.url}/hit/same"})])

    llm_server.set_default(model)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=llm_client.credentials,
                    policy=Policy(allow_private_http=True))
    events = collect(engine.run(wf, {}))
    assert events[-1].type == "run_finished"
    assert events[-1].output == ["a: visited", "b: visited", "c: visited"]
    assert counter.hits["/hit/same"] == 3  # once per item: neither replayed nor lost
