"""The engine's real event stream, recorded through `store.sink`, reads back as the same run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from history import queries as q
from history.queries import Filters
from history.store import HistoryStore
from orchestrator.credentials import Credentials
from orchestrator.events import Event
from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import ApprovalDecision, Engine
from schemas import load_workflow_file
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
