"""The engine's real event stream, recorded through `store.sink`, reads back as the same run."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from history import queries as q
from history.queries import Filters
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.events import Event
from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision, Engine
from schemas import load_workflow, load_workflow_file
from testkit.replies import Reply

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "human_approval.yaml"


def _plausible(request: Any) -> Reply:
    return Reply(text=synthesize(request.messages, request.tools).text)


def _collect(stream: Any) -> list[Event]:
    async def drain() -> list[Event]:
        return [e async for e in stream]

    return asyncio.run(drain())


def test_a_paused_and_resumed_run_is_recorded_once_with_both_segments(
    data_dir: Path, llm_server: Any, credentials: Credentials, llm_client: Any
) -> None:
    llm_server.set_default(_plausible)
    store = HistoryStore.open(data_dir)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=credentials,
                    policy=Policy(default_model="openai/gpt-4o-mini"), sinks=[store.sink])  # fmt: skip
    workflow = load_workflow_file(EXAMPLE)
    try:
        first = _collect(engine.run(workflow, {}, owner="session-1"))
        assert first[-1].type == "run_interrupted"
        run_id = first[-1].run_id
        store.flush(10)
        cur = store.read_cursor()
        assert q.resumable_runs(cur, "session-1")["run_id"].tolist() == [run_id]
        assert q.resumable_runs(cur, "session-2").empty

        second = _collect(engine.resume(run_id, approval=ApprovalDecision(True, "ship it"), owner="session-1"))
        assert second[-1].type == "run_finished"
        store.flush(10)

        run = q.list_runs(cur, Filters(owner="session-1")).iloc[0]
        assert (run.run_id, run.status, run.workflow, run.segments) == (run_id, "finished", "human-approval", 2)
        sent_calls = [e for e in first + second if e.type == "llm_call"]
        assert len(sent_calls) == len(llm_server.requests) == 2
        assert run.cost_usd > 0 and run.tokens_in == sum(c.tokens_in for c in sent_calls)
        assert q.kpis(cur, Filters(owner="session-1")).iloc[0].total_cost_usd == run.cost_usd
        replayed = q.replay(cur, run_id, "session-1")
        assert [(e.type, e.seq) for e in replayed] == [(e.type, e.seq) for e in first + second]
    finally:
        store.close()


FAN = """
version: 1
name: fan
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: first, type: agent, agent: w, prompt: first}
  - id: both
    type: parallel
    branches:
      - {id: left, type: agent, agent: w, prompt: left}
      - {id: right, type: agent, agent: w, prompt: right}
  - {id: last, type: agent, agent: w, prompt: last}
"""


def _as_if_killed_after_branches(checkpoints: Path, run_id: str, lost: list[str]) -> None:
    """Leave the checkpoint file as a kill -9 under async durability can: the branches' superstep
    ran, but the checkpoint after it never reached the disk, nor the saved results of `lost`."""
    db = sqlite3.connect(checkpoints)
    with db:
        (at,) = db.execute("SELECT checkpoint_id FROM writes WHERE thread_id = ? AND task_path LIKE '%, left'",
                           (run_id,)).fetchone()
        db.execute("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id > ?", (run_id, at))
        db.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_id > ?", (run_id, at))
        for node in lost:
            db.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_id = ? AND task_path LIKE ?",
                       (run_id, at, f"%, {node}"))
    db.close()


@pytest.mark.parametrize("lost", [[], ["left"], ["left", "right"]])
def test_a_crash_that_loses_finished_branches_counts_each_step_once(
    data_dir: Path, llm_server: Any, credentials: Credentials, llm_client: Any, lost: list[str]
) -> None:
    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}",
                                             usage={"prompt_tokens": 100, "completion_tokens": 10}))
    workflow = load_workflow(FAN, "fan.yaml")
    seen: list[Event] = []
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=credentials, policy=Policy(),
                    sinks=[seen.append])
    first = _collect(engine.run(workflow, {}, owner="alice", run_id="r"))
    assert first[-1].type == "run_finished" and first[-1].tokens_in == 400
    # What history had acknowledged when the process died: everything up to both branches' results.
    crash_at = next(e.seq for e in seen if e.type == "step_finished" and e.step_id == "both")
    store = HistoryStore.open(data_dir)
    for event in seen:
        if event.seq < crash_at:
            store.record(event)
    store.close()
    engine.store.set_status("r", "running")
    _as_if_killed_after_branches(data_dir / "checkpoints.sqlite", "r", lost)
    before = len(llm_server.requests)

    store = HistoryStore.open(data_dir)  # the next start: marks the run interrupted
    try:
        engine = Engine(data_dir=data_dir, client=llm_client, credentials=credentials, policy=Policy(),
                        sinks=[store.sink])
        second = _collect(engine.resume("r", owner="alice"))
        store.flush(10)
        cur = store.read_cursor()
        run = q.list_runs(cur, Filters(owner="alice")).iloc[0]
        calls = cur.execute("SELECT sum(tokens_in) FROM llm_calls WHERE run_id = 'r' AND NOT superseded").fetchone()[0]
        superseded = cur.execute("SELECT step_id FROM steps WHERE superseded ORDER BY step_id").fetchall()
    finally:
        store.close()

    assert second[-1].type == "run_finished" and second[-1].outputs == first[-1].outputs
    assert len(llm_server.requests) - before == len(lost) + 1  # the lost branches again, then `last`
    kept = second[0].accounted
    assert kept is not None and {e.step_id for e in seen if e.seq in kept} == {"first", *{"left", "right"} - set(lost)}
    assert [s for (s,) in superseded] == lost
    assert second[-1].tokens_in == run.tokens_in == calls == 400  # each model call counted once


def test_a_stopped_run_can_be_resumed_but_a_rejected_one_cannot(data_dir: Path) -> None:
    """Stop (the consumer goes away mid-run) leaves a resumable run; `on_reject: stop` ends it for good."""
    import os

    os.environ["GRAPHWRIGHT_OFFLINE_TOKEN_DELAY"] = "0.01"
    store = HistoryStore.open(data_dir)
    engine = Engine(data_dir=data_dir, credentials=Credentials(), policy=Policy(default_model="offline/synthetic"),
                    sinks=[store.sink])
    strict = load_workflow("""
version: 1
name: strict
agents: {w: {role: W}}
steps:
  - {id: check, type: approval, message: Ok?, on_reject: stop}
  - {id: final, type: agent, agent: w, prompt: Final}
""")

    async def stop_after_first_token() -> str:
        stream = engine.run(load_workflow_file(EXAMPLE), {}, owner="me")
        async for event in stream:
            if event.type == "token":
                await stream.aclose()
                return event.run_id
        raise AssertionError("no token")

    try:
        stopped = asyncio.run(stop_after_first_token())
        paused = _collect(engine.run(strict, {}, owner="me"))[-1].run_id
        rejected = _collect(engine.resume(paused, approval=ApprovalDecision(False), owner="me"))
        assert rejected[-1].type == "run_cancelled" and rejected[-1].reason == "rejected"
        store.flush(10)
        listed = q.resumable_runs(store.read_cursor(), "me")["run_id"].tolist()
        assert listed == [stopped]
        assert _collect(engine.resume(stopped, owner="me"))[-1].type == "run_interrupted"  # goes on to the approval
    finally:
        store.close()


def test_a_supervisor_with_teams_records_every_team_step_and_call_once(
    data_dir: Path, llm_server: Any, credentials: Credentials, llm_client: Any
) -> None:
    from testkit.replies import ToolCallSpec

    def delegating(request: Any) -> Reply:  # the offline synthesiser's answer, tool calls included
        reply = synthesize(request.messages, request.tools)
        return Reply(tool_calls=[ToolCallSpec(reply.tool_name, reply.tool_arguments)]) if reply.tool_name \
            else Reply(text=reply.text)

    llm_server.set_default(delegating)
    store = HistoryStore.open(data_dir)
    engine = Engine(data_dir=data_dir, client=llm_client, credentials=credentials,
                    policy=Policy(default_model="openai/gpt-4o-mini"), sinks=[store.sink])  # fmt: skip
    workflow = load_workflow_file(EXAMPLE.parent / "team_of_teams.yaml")
    try:
        events = _collect(engine.run(workflow, {}, owner="me"))
        assert events[-1].type == "run_finished"
        store.flush(10)
        cur = store.read_cursor()
        run_id = events[-1].run_id
        steps = q.run_steps(cur, run_id, "me")
        finished = [(e.step_id, e.step_type) for e in events if e.type == "step_finished"]
        assert ("search", "agent") in finished and ("check", "agent") in finished  # the team ran
        assert sorted(zip(steps.step_id, steps.step_type, strict=True)) == sorted(finished)
        calls = q.run_calls(cur, run_id, "me")
        assert len(calls) == len(llm_server.requests) == len([e for e in events if e.type == "llm_call"])
        run = q.list_runs(cur, Filters(owner="me")).iloc[0]
        assert run.tokens_in == events[-1].tokens_in == int(calls.tokens_in.sum())
    finally:
        store.close()
