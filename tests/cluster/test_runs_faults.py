"""Runs on workers survive what real deployments do to them: restarts, kills, Stop, a Temporal restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runs_testing import TEST_KEY, drain

from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from schemas import load_workflow
from testkit.replies import Reply

pytestmark = pytest.mark.cluster

APPROVAL = """
version: 1
name: approve-me
default_model: openai/gpt-4o-mini
agents: {w: {role: Writer}}
steps:
  - {id: draft, type: agent, agent: w, prompt: draft}
  - {id: check, type: approval, message: 'Publish {{ steps.draft.output }}?'}
  - {id: publish, type: agent, agent: w, prompt: 'publish {{ steps.draft.output }}'}
"""
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


def credentials(cluster) -> Credentials:
    return Credentials(keys={"openai": TEST_KEY}, api_bases={"openai": cluster.llm_base_url})


def executor(cluster) -> object:
    return cluster.executor(cluster.app_engine(credentials(cluster), Policy()))


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
    first = asyncio.run(drain(executor(cluster).run(load_workflow(APPROVAL, "a.yaml"), {})))
    assert [e.type for e in first][-2:] == ["approval_requested", "run_interrupted"]
    run_id = first[-1].run_id
    assert pending_activities(cluster, run_id) == 0  # waiting for a person holds no worker

    cluster.stop()  # every worker dies (SIGKILL), new ones start
    cluster.start_worker()
    cluster.start_worker()
    second = other_app(cluster, "approve", run_id, "ship it")

    assert second[-1].type == "run_finished", second[-3:]
    assert second[-1].outputs["publish"] == "said: publish said: draft"
    assert [e.type for e in second if e.type == "approval_resolved"] == ["approval_resolved"]
    assert len(llm_server.requests) == 2  # the draft was not written again


def test_stop_cancels_a_run_on_its_worker_within_a_second(cluster, llm_server) -> None:
    llm_server.set_default(lambda req: Reply(text="slow", latency=60))
    cluster.start_worker()
    wf = load_workflow(TWO_STEPS, "t.yaml")

    async def run_then_stop() -> tuple[list, float]:
        from cluster.event_bus import subscribe

        events: list = []

        async def consume() -> None:
            async for event in executor(cluster).run(wf, {}, run_id="stopme"):
                events.append(event)

        task = asyncio.create_task(consume())
        deadline = time.monotonic() + 60
        while not llm_server.requests:  # the worker is inside the model call
            assert time.monotonic() < deadline and not task.done(), cluster.worker_log(0)
            await asyncio.sleep(0.02)
        async with subscribe(cluster.dsn, "stopme") as recorded:
            stopped = time.monotonic()
            task.cancel()  # what the Stop button does to the run's event stream
            async for event in recorded:
                if event.type == "run_cancelled":
                    return events, time.monotonic() - stopped
        raise AssertionError("no run_cancelled")

    events, latency = asyncio.run(run_then_stop())
    print(f"\n[cluster] stop -> run_cancelled recorded by the worker: {latency * 1000:.0f} ms")
    assert latency < 1.0
    assert events[0].type == "run_started"
    assert len(llm_server.requests) == 1
