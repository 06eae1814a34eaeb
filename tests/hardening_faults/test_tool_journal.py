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

    after.forget("r1", [done, running])  # the step finished: a later loop iteration runs the call anew
    after.start_segment("r1")
    assert after.replay("r1", done) is None and after.replay("r1", running) is None
    before.close()
    after.close()


def test_keys_tell_steps_tools_and_arguments_apart() -> None:
    base = ToolJournal.key("fetch", "record", "{}")
    assert len({base, ToolJournal.key("other", "record", "{}"), ToolJournal.key("fetch", "other", "{}"),
                ToolJournal.key("fetch", "record", '{"x": 1}')}) == 4
    assert ToolJournal.key("fetch", "record", "{}") == base
