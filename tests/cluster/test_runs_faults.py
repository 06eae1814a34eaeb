"""Runs on workers survive what real deployments do to them: restarts, kills, Stop, a Temporal restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runs_testing import APPROVAL, app_executor, drain, history_totals

from schemas import load_workflow
from testkit.replies import Reply

pytestmark = pytest.mark.cluster

TWO_STEPS = """
version: 1
name: two-steps
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: one, type: agent, agent: w, prompt: 'one {{ inputs.tag }}'}
  - {id: two, type: agent, agent: w, prompt: 'two {{ steps.one.output }}'}
inputs: {tag: {default: x}}
"""

THREE_STEPS = """
version: 1
name: three-steps
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
inputs: {tag: {default: x}}
steps:
  - {id: one, type: agent, agent: w, prompt: 'one {{ inputs.tag }}'}
  - {id: mid, type: agent, agent: w, prompt: 'mid {{ steps.one.output }}'}
  - {id: two, type: agent, agent: w, prompt: 'two {{ steps.mid.output }}'}
"""


def other_app(cluster, *args: str) -> list:
    """A second app replica (its own process) acting on a run; the events it streamed."""
    from orchestrator.events import parse_event

    done = subprocess.run([sys.executable, str(Path(__file__).parent / "app_child.py"), *args], env=cluster.env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return [parse_event(json.loads(line)) for line in done.stdout.splitlines() if line.startswith("{")]


def pending_activities(cluster, run_id: str) -> int:
    async def describe() -> int:
        from cluster.temporal_client import connect

        client = await connect(cluster.settings(), attempts=1)
        description = await client.get_workflow_handle(run_id).describe()
        return len(description.raw_description.pending_activities)

    return asyncio.run(describe())


def test_a_waiting_run_holds_no_worker_survives_worker_restarts_and_is_approved_from_another_app(
        cluster, llm_server) -> None:
    llm_server.set_default(lambda req: Reply(text=f"said: {req.messages[-1]['content']}"))
    cluster.start_worker()
    first = asyncio.run(drain(app_executor(cluster).run(load_workflow(APPROVAL, "a.yaml"), {})))
    assert [e.type for e in first][-2:] == ["approval_requested", "run_interrupted"]
    run_id = first[-1].run_id
    deadline = time.monotonic() + 120  # (the app may see the pause before its activity has reported back;
    while pending_activities(cluster, run_id) and time.monotonic() < deadline:  # a loaded machine: long after)
        time.sleep(0.1)
    assert pending_activities(cluster, run_id) == 0  # waiting for a person holds no worker

    cluster.stop()  # every worker dies (SIGKILL), new ones start
    cluster.start_workers(2)
    second = other_app(cluster, "approve", run_id, "ship it")

    assert second[-1].type == "run_finished", second[-3:]
    assert second[-1].outputs["publish"] == "said: publish said: draft"
    assert [e.type for e in second if e.type == "approval_resolved"] == ["approval_resolved"]
    assert len(llm_server.requests) == 2  # the draft was not written again


def test_stop_cancels_a_run_on_its_worker_within_a_second_and_temporals_cancellation_alone_still_does(
        cluster, llm_server) -> None:
    """Stop's fast path is announced through PostgreSQL; Temporal's cancellation, delivered with the next
    heartbeat (every quarter of the heartbeat timeout), is the durable path behind it."""
    cluster.heartbeat_timeout_s = 4.0  # a heartbeat every second
    llm_server.set_default(lambda req: Reply(text="slow", latency=60))
    cluster.start_worker()
    wf = load_workflow(TWO_STEPS, "t.yaml")

    async def run_then_stop(run_id: str, stop) -> tuple[list, float]:
        from cluster.event_bus import subscribe

        events: list = []

        async def consume() -> None:
            async for event in app_executor(cluster).run(wf, {}, run_id=run_id):
                events.append(event)

        task = asyncio.create_task(consume())
        deadline, calls = time.monotonic() + 60, len(llm_server.requests)
        while len(llm_server.requests) == calls:  # the worker is inside the model call
            assert time.monotonic() < deadline and not task.done(), cluster.worker_log(0)
            await asyncio.sleep(0.02)
        async with subscribe(cluster.dsn, run_id) as recorded:
            stopped = time.monotonic()
            await stop(task, run_id)
            async for event in recorded:
                if event.type == "run_cancelled":
                    latency = time.monotonic() - stopped
                    await asyncio.wait({task}, timeout=10)
                    return events, latency
        raise AssertionError("no run_cancelled")

    async def close_the_stream(task, run_id: str) -> None:
        task.cancel()  # what the CLI's Ctrl-C does to the run's event stream (the app's Stop: `stop`, the same call)

    async def cancel_in_temporal_only(task, run_id: str) -> None:
        from cluster.temporal_client import connect

        await (await connect(cluster.settings(), attempts=1)).get_workflow_handle(run_id).cancel()

    events, fast = asyncio.run(run_then_stop("stopme", close_the_stream))
    _, durable = asyncio.run(run_then_stop("stopme-in-temporal", cancel_in_temporal_only))
    print(f"\n[cluster] stop -> run_cancelled recorded by the worker: {fast * 1000:.0f} ms announced, "
          f"{durable * 1000:.0f} ms through Temporal alone")
    assert fast < 1.0
    assert events[0].type == "run_started"
    assert len(llm_server.requests) == 2
    log = (cluster.data_dir.parent / "worker-0.log").read_text(errors="replace")
    assert "stop announced for stopme:" in log and "stop announced for stopme-in-temporal" not in log
    assert durable < 1.0 + 2.0  # one heartbeat interval, and the workflow task that requests the cancellation


def call_rows(dsn: str, run_ids: list[str], results: list) -> str:
    """What history holds of these runs' model calls, beside the events the app saw (for a failure message)."""
    from history.backend import open_history
    from orchestrator.deployment import Deployment

    store = open_history(None, Deployment(postgres_dsn=dsn))
    try:
        rows = store.read_cursor().execute("SELECT run_id, seq, step_id, superseded, tokens_in FROM llm_calls WHERE "
                                           "run_id IN (SELECT unnest(?)) ORDER BY run_id, seq", [run_ids]).fetchall()
    finally:
        store.close()
    seen = [(e.run_id, e.seq, e.type, getattr(e, "step_id", None), getattr(e, "accounted", None))
            for events in results for e in events if e.run_id in run_ids and e.type in ("llm_call", "run_started")]
    return f"history rows: {rows}\nevents: {seen}"


@pytest.mark.slow
def test_workers_killed_mid_run_lose_no_run_and_count_every_model_call_once(cluster, llm_server) -> None:
    import os
    import signal

    runs, kills = 8, 3
    cluster.heartbeat_timeout_s = 3.0
    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content'][:40]}", latency=0.4))
    victims = cluster.start_workers(kills)
    cluster.start_worker()  # the survivor
    wf = load_workflow(THREE_STEPS, "k.yaml")

    async def run_all() -> list[list]:
        started = [asyncio.create_task(drain(app_executor(cluster).run(wf, {"tag": f"t{i}"}, run_id=f"kill{i}")))
                   for i in range(runs)]
        for k, victim in enumerate(victims):  # kill a worker while runs are in flight
            while len(llm_server.requests) < (k + 1) * runs * 3 // (kills + 1) and not all(t.done() for t in started):
                await asyncio.sleep(0.05)
            os.kill(victim.pid, signal.SIGKILL)
        return await asyncio.gather(*started)

    results = asyncio.run(run_all())
    ends = [events[-1] for events in results]
    assert [e.type for e in ends] == ["run_finished"] * runs, [(e.run_id, e.type) for e in ends]
    for i, end in enumerate(ends):
        assert end.output == f"done two done mid done one t{i}"
    tokens = {end.tokens_in for end in ends}
    assert len(tokens) == 1  # every run charged the same, however often its worker died

    statuses, charged, calls = history_totals(cluster.dsn)
    assert statuses == {f"kill{i}": "finished" for i in range(runs)}
    charged_each = next(iter(tokens))
    assert charged == {f"kill{i}": charged_each for i in range(runs)}
    assert calls == charged, call_rows(cluster.dsn, [r for r in calls if calls[r] != charged[r]], results)
    resumed = sum(1 for events in results for e in events if e.type == "run_started" and e.resumed)
    print(f"\n[cluster] {runs} runs, {kills} worker kills: {resumed} segments resumed on another worker, "
          f"{len(llm_server.requests)} model requests for {3 * runs} calls counted")
    assert resumed >= 1


def test_sigterm_hands_a_long_segment_back_to_another_worker(cluster, llm_server) -> None:
    import signal

    slow = {"first": True}

    def model(req) -> Reply:
        if slow["first"]:
            slow["first"] = False
            return Reply(text="never sent", latency=60)
        return Reply(text=f"done {req.messages[-1]['content']}")

    llm_server.set_default(model)
    leaving = cluster.start_worker("--grace", "1")
    wf = load_workflow(TWO_STEPS, "t.yaml")

    async def run() -> list:
        task = asyncio.create_task(drain(app_executor(cluster).run(wf, {}, run_id="handback")))
        while not llm_server.requests:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(cluster.start_worker)  # the worker that takes the run over
        leaving.send_signal(signal.SIGTERM)
        return await task

    events = asyncio.run(run())
    assert leaving.wait(30) == 0, cluster.worker_log(0)
    assert events[-1].type == "run_finished" and events[-1].output == "done two done one x"
    assert not [e for e in events if e.type == "run_cancelled"]
    handed = [e for e in events if e.type == "warning" and "shutting down" in e.message]
    assert len(handed) == 1
    assert [e.resumed for e in events if e.type == "run_started"] == [False, True]


def test_a_temporal_server_restart_mid_run_does_not_stop_the_run(cluster, llm_server, temporal_server) -> None:
    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}", latency=1.0))
    cluster.start_worker()
    wf = load_workflow(THREE_STEPS, "k.yaml")

    async def run() -> list:
        task = asyncio.create_task(drain(app_executor(cluster).run(wf, {}, run_id="restart")))
        while not llm_server.requests:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(temporal_server.restart)
        return await task

    events = asyncio.run(run())
    assert events[-1].type == "run_finished", (events[-1], cluster.worker_log(0))
    assert events[-1].output == "done two done mid done one x"
    statuses, charged, calls = history_totals(cluster.dsn)
    assert statuses == {"restart": "finished"} and charged == calls


def test_a_postgres_restart_mid_run_does_not_stop_the_run_nor_the_replica(cluster, llm_server,
                                                                         postgres_server) -> None:
    llm_server.set_default(lambda req: Reply(text=f"done {req.messages[-1]['content']}", latency=1.0))
    cluster.start_worker()
    wf = load_workflow(THREE_STEPS, "k.yaml")
    replica = app_executor(cluster)  # one app replica: its run records, event stream and Temporal client

    async def run() -> tuple[list, list]:
        task = asyncio.create_task(drain(replica.run(wf, {}, run_id="pgrestart")))
        while not llm_server.requests:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(postgres_server.stop)  # down while the step ends and its checkpoint is written
        await asyncio.sleep(2.0)
        await asyncio.to_thread(postgres_server.start)
        first = await task
        return first, await drain(replica.run(wf, {"tag": "y"}, run_id="afterwards"))

    first, second = asyncio.run(run())
    assert first[-1].type == "run_finished", (first[-3:], cluster.worker_log(0))
    assert first[-1].output == "done two done mid done one x"
    assert second[-1].type == "run_finished" and second[-1].output == "done two done mid done one y"
    statuses, charged, calls = history_totals(cluster.dsn)
    assert statuses == {"pgrestart": "finished", "afterwards": "finished"} and charged == calls
