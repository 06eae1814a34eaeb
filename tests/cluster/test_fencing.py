"""Two attempts of the same run segment at once (a worker starved past its heartbeat timeout keeps
driving its copy while Temporal's next attempt runs elsewhere): every model call is counted once.

The segment activity runs twice, in Temporal's activity test environment, on two "workers" (each its
own engine, history writer and event publisher, all on the same PostgreSQL). The first attempt's
first model call is slow; the second attempt starts while it is in flight and drives the run to its
end. The first call's answer then arrives: its late writes are refused, and the stale attempt stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cluster.workflow import SegmentRequest
from orchestrator.credentials import Credentials
from orchestrator.deployment import Deployment
from orchestrator.fencing import FENCE, Fence, FencedOut
from orchestrator.offline_synth import synthesize
from orchestrator.policy import Policy
from orchestrator.runner import Engine
from schemas import load_workflow_file
from testkit.replies import Reply

pytestmark = pytest.mark.cluster
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brief_writer.yaml"
SLOW_S = 2.0


class _Worker:
    """What `cluster.worker.serve` gives a worker process: an engine whose sinks are the event bus and the history."""

    def __init__(self, name: str, dsn: str, tmp_path: Path, common: dict[str, Any]) -> None:
        from cluster.activity import Segments
        from cluster.event_bus import EventPublisher
        from cluster.worker import _accounted_first, _open_history

        self.publisher = EventPublisher(dsn)
        self.history = _open_history(None)
        self.engine = Engine(data_dir=tmp_path / name, sinks=[self.publisher.publish, _accounted_first(self.history)],
                             deployment=Deployment(postgres_dsn=dsn), **common)
        self.segments = Segments(lambda _model: self.engine, self.flush)

    def flush(self) -> None:
        self.publisher.flush()
        self.history.flush()

    async def attempt(self, number: int, run_id: str) -> Any:
        from temporalio.testing import ActivityEnvironment

        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, attempt=number)
        request = SegmentRequest(run_id=run_id, resume=False, decision=None, default_model="openai/gpt-4o-mini")
        return await env.run(self.segments.drive_segment, request)

    def close(self) -> None:
        self.publisher.close()
        self.history.close()
        self.engine.state.close()


def test_a_stale_attempt_of_a_segment_is_fenced_off_and_every_model_call_counts_once(
    tmp_path: Path, fresh_dsn: str, llm_server: Any, credentials: Credentials, llm_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from temporalio.exceptions import ApplicationError

    monkeypatch.setenv("GRAPHWRIGHT_POSTGRES_DSN", fresh_dsn)
    numbers = itertools.count(1)
    llm_server.set_default(lambda req: Reply(text=synthesize(req.messages, req.tools).text,
                                             latency=SLOW_S if next(numbers) == 1 else 0.0))
    common = {"client": llm_client, "credentials": credentials, "policy": Policy(default_model="openai/gpt-4o-mini")}
    starved, healthy = (_Worker(name, fresh_dsn, tmp_path, common) for name in ("starved", "healthy"))
    starved.engine.create_run(load_workflow_file(EXAMPLE), {}, owner="alice", run_id="r1")

    async def overlap() -> tuple[Any, Any]:
        first = asyncio.create_task(starved.attempt(1, "r1"))
        while not llm_server.requests:  # the first attempt is mid-call (its answer comes in SLOW_S)
            await asyncio.sleep(0.01)
        second = await healthy.attempt(2, "r1")  # Temporal's retry: the lease of the first ran out
        return await asyncio.gather(first, return_exceptions=True), second

    try:
        (stale,), ending = asyncio.run(overlap())
        for worker in (starved, healthy):
            worker.flush()
    finally:
        for worker in (starved, healthy):
            worker.close()

    with psycopg.connect(fresh_dsn) as con:
        calls = con.execute("SELECT count(*), sum(tokens_in + tokens_out) FROM llm_calls"
                            " WHERE run_id = 'r1' AND NOT superseded").fetchone()
        every_row = con.execute("SELECT count(*) FROM llm_calls WHERE run_id = 'r1'").fetchone()[0]
        run = con.execute("SELECT status, tokens_in + tokens_out FROM runs WHERE run_id = 'r1'").fetchone()
        record = con.execute("SELECT status FROM graphwright_runs WHERE run_id = 'r1'").fetchone()[0]
        published = [t for (t,) in con.execute("SELECT event->>'type' FROM graphwright_run_events"
                                               " WHERE run_id = 'r1' ORDER BY seq")]
    assert ending == "finished"
    assert calls == (2, run[1])  # one call per step: the history's totals are the ledger's
    assert every_row == 2  # the stale attempt's late call was refused, not written and flagged
    assert (run[0], record) == ("finished", "finished")
    assert published.count("run_started") == 2 and published.count("run_finished") == 1
    assert published[-1] == "run_finished"
    assert isinstance(stale, ApplicationError) and stale.type == "Fenced", stale
    assert len(llm_server.requests) == 3  # the stale attempt's call was answered, and made no other


# --- The other writes of a stale attempt: a checkpoint caught mid-write, the tool journal, `seq` blocks ------------
def _state(dsn: str) -> Any:
    from orchestrator.deployment import open_run_state

    return open_run_state(None, Deployment(postgres_dsn=dsn))


def _stale(state: Any, run_id: str) -> Fence:
    """Attempt 1's fence on `run_id`, made stale: attempt 2 has taken the run since."""
    fence = Fence(run_id, state.records.take_fence(run_id))
    state.records.take_fence(run_id)
    return fence


def _waiting_for_a_lock(dsn: str) -> bool:
    with psycopg.connect(dsn) as con:
        return bool(con.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                " AND wait_event_type = 'Lock'").fetchone()[0])


def test_a_checkpoint_write_in_flight_lands_before_the_next_attempt_takes_the_run_or_not_at_all(fresh_dsn: str) -> None:
    """The fence is checked in the write's own transaction: a new token cannot slip in between check and write."""
    from langgraph.checkpoint.base import empty_checkpoint

    state = _state(fresh_dsn)
    fence = Fence("r1", state.records.take_fence("r1"))
    config = {"configurable": {"thread_id": "r1", "checkpoint_ns": ""}}

    def stale_checkpoints() -> int:
        with psycopg.connect(fresh_dsn) as con:
            return con.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 'r1'").fetchone()[0]

    async def race() -> tuple[int, int]:
        async with state.open_saver() as saver:
            FENCE.set(fence)
            with psycopg.connect(fresh_dsn) as blocker:  # holds the checkpoint write back, as a slow disk would
                blocker.execute("LOCK TABLE checkpoints IN EXCLUSIVE MODE")
                write = asyncio.create_task(saver.aput(config, empty_checkpoint(), {}, {}))
                while not await asyncio.to_thread(_waiting_for_a_lock, fresh_dsn):
                    await asyncio.sleep(0.01)
                taking = asyncio.create_task(asyncio.to_thread(state.records.take_fence, "r1"))  # attempt 2
                await asyncio.sleep(0.3)
                if taking.done():  # the new token was granted while the old write was in flight...
                    landed_before = stale_checkpoints()
                    blocker.rollback()
                    await asyncio.gather(write, return_exceptions=True)
                    return landed_before, stale_checkpoints()  # ...so it must never land (it did: 0, then 1)
            await write  # the token waits for the write in flight, which lands first
            landed_before = stale_checkpoints()
            await taking
            with pytest.raises(FencedOut):  # and the stale attempt's next write is refused
                await saver.aput(config, empty_checkpoint(), {}, {})
            return landed_before, stale_checkpoints()

    try:
        before, after = asyncio.run(race())
    finally:
        state.records.close()
    assert after == before  # nothing of the stale attempt lands after the new one took the run
    assert fence.lost


def test_a_stale_attempt_journals_no_tool_call_nor_reserves_seq_numbers(fresh_dsn: str) -> None:
    from orchestrator.tool_journal import ToolJournal

    state = _state(fresh_dsn)
    try:
        key = ToolJournal.key("s", "post", "{}")
        current = Fence("r2", state.records.take_fence("r2"))
        FENCE.set(current)
        state.journal.begin("r2", key)  # the current attempt journals as before
        state.journal.end("r2", key, True, "posted")
        state.records.create("r1", load_workflow_file(EXAMPLE), {}, "alice", None)
        stale = _stale(state, "r1")
        FENCE.set(stale)
        with pytest.raises(FencedOut):  # so the tool is not called
            state.journal.begin("r1", key)
        state.journal.end("r1", key, True, "late")
        state.journal.forget_run("r1")
        state.records.reserve_seq("r1", 5000)
        with psycopg.connect(fresh_dsn) as con:
            journaled = con.execute("SELECT run_id, result FROM graphwright_tool_calls ORDER BY run_id").fetchall()
            reserved = con.execute("SELECT seq_reserved FROM graphwright_runs WHERE run_id = 'r1'").fetchone()[0]
    finally:
        FENCE.set(None)
        state.records.close()
    assert journaled == [("r2", "posted")]
    assert reserved == 0  # nor reserves `seq` numbers
    assert stale.lost and not current.lost


def test_a_step_whose_checkpoint_lands_after_a_newer_attempt_started_is_counted_once(
    tmp_path: Path, fresh_dsn: str, llm_server: Any, credentials: Credentials, llm_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stale attempt checks its token, then its checkpoint (step 1 done) is held back while a newer
    attempt starts from the older checkpoint (flagging step 1's call superseded) and dies before its own
    first checkpoint; the held checkpoint lands, and a third attempt resumes from it without re-making the
    call: the call its checkpoint holds must count."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from temporalio.activity import ActivityCancellationDetails
    from temporalio.testing import ActivityEnvironment

    from orchestrator.fencing import fence_of

    monkeypatch.setenv("GRAPHWRIGHT_POSTGRES_DSN", fresh_dsn)
    slow = asyncio.Event()  # set: the model answers in 30 s (the second attempt dies before its first checkpoint)
    llm_server.set_default(lambda req: Reply(text=synthesize(req.messages, req.tools).text,
                                             latency=30.0 if slow.is_set() else 0.0))
    common = {"client": llm_client, "credentials": credentials, "policy": Policy(default_model="openai/gpt-4o-mini")}
    starved, healthy = (_Worker(name, fresh_dsn, tmp_path, common) for name in ("starved", "healthy"))
    starved.engine.create_run(load_workflow_file(EXAMPLE), {}, owner="alice", run_id="r1")
    put, put_writes = AsyncPostgresSaver.aput, AsyncPostgresSaver.aput_writes
    held, release = asyncio.Event(), asyncio.Event()

    async def hold(config: Any, done: bool) -> None:
        """The stale attempt's writes of step 1's result wait; its token was checked (still current)."""
        fence = fence_of(config["configurable"]["thread_id"])
        if fence is not None and fence.attempt == 1 and (done or held.is_set()):
            held.set()
            await release.wait()

    async def held_put(self: Any, config: Any, checkpoint: Any, *args: Any, **kwargs: Any) -> Any:
        await hold(config, bool(checkpoint["channel_values"].get("outputs")))
        return await put(self, config, checkpoint, *args, **kwargs)

    async def held_writes(self: Any, config: Any, writes: Any, *args: Any, **kwargs: Any) -> Any:
        await hold(config, any(channel == "outputs" and value for channel, value in writes))
        return await put_writes(self, config, writes, *args, **kwargs)

    monkeypatch.setattr(AsyncPostgresSaver, "aput", held_put)
    monkeypatch.setattr(AsyncPostgresSaver, "aput_writes", held_writes)

    def environment(number: int) -> ActivityEnvironment:
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, attempt=number)
        return env

    def segments(dsn: str) -> int:
        with psycopg.connect(dsn) as con:
            return con.execute("SELECT segments FROM runs WHERE run_id = 'r1'").fetchone()[0]

    request = SegmentRequest(run_id="r1", resume=False, decision=None, default_model="openai/gpt-4o-mini")

    async def race() -> str:
        first = asyncio.create_task(environment(1).run(starved.segments.drive_segment, request))
        await held.wait()  # step 1's call is committed to history; its checkpoint is on its way
        slow.set()
        second_env = environment(2)
        second = asyncio.create_task(second_env.run(healthy.segments.drive_segment, request))
        while len(llm_server.requests) < 2 or await asyncio.to_thread(segments, fresh_dsn) < 2:
            await asyncio.sleep(0.01)  # the newer attempt's start (flagging step 1's call) is in history
        second_env.cancel(ActivityCancellationDetails(timed_out=True))  # its worker is lost mid-call
        await asyncio.gather(second, return_exceptions=True)
        await asyncio.to_thread(healthy.flush)
        slow.clear()
        release.set()  # the stale checkpoint lands now
        await asyncio.gather(first, return_exceptions=True)  # it is fenced off at its next write
        await asyncio.to_thread(starved.flush)
        return await environment(3).run(healthy.segments.drive_segment, request)  # resumes from the late checkpoint

    try:
        ending = asyncio.run(race())
        for worker in (starved, healthy):
            worker.flush()
    finally:
        for worker in (starved, healthy):
            worker.close()

    with psycopg.connect(fresh_dsn) as con:
        counted = con.execute("SELECT step_id FROM llm_calls WHERE run_id = 'r1' AND NOT superseded"
                              " ORDER BY seq").fetchall()
        run = con.execute("SELECT status, tokens_in + tokens_out, (SELECT sum(tokens_in + tokens_out)"
                          " FROM llm_calls WHERE run_id = 'r1' AND NOT superseded) FROM runs"
                          " WHERE run_id = 'r1'").fetchone()
    assert ending == "finished"
    assert len(counted) == 2 and len({step for (step,) in counted}) == 2, counted  # each step's call once
    assert run[0] == "finished" and run[1] == run[2], run
