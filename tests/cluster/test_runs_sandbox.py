"""Stop from the app ends a run whose step runs model-written code on a worker, its containers included."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from runs_testing import TEST_KEY

from orchestrator.credentials import Credentials
from orchestrator.policy import Policy
from orchestrator.sandbox_limits import RUN_LABEL, SANDBOX_LABEL
from schemas import load_workflow
from tests.sandbox.conftest import sandbox_image  # noqa: F401 - the fixture: the image, built once
from tests.sandbox.test_sandbox_lifecycle import _calls_the_sleeper, _config, _wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.docker]


def test_stop_ends_a_run_whose_tool_runs_code_on_a_worker_within_a_second_and_removes_its_container(
        cluster, llm_server, docker_client, sandbox_image) -> None:  # noqa: F811 - the imported fixture
    llm_server.set_default(_calls_the_sleeper)  # the model asks for code that sleeps 100 s
    cluster.start_worker()
    engine = cluster.app_engine(Credentials(keys={"openai": TEST_KEY}, api_bases={"openai": cluster.llm_base_url}),
                                Policy())
    executor = cluster.executor(engine)
    workflow = load_workflow(_config(sandbox_image), "sleepy.yaml")

    def the_runs_containers(run_id: str) -> list[Any]:
        return docker_client.containers.list(all=True, sparse=True,
                                             filters={"label": [SANDBOX_LABEL, f"{RUN_LABEL}={run_id}"]})

    async def run_then_stop() -> dict[str, float]:
        from cluster.event_bus import last_seq, subscribe

        async def consume() -> None:
            async for _event in executor.run(workflow, {}, owner="alice", run_id="sleepy"):
                pass

        task = asyncio.create_task(consume())
        await asyncio.to_thread(_wait_for, lambda: any(c.status == "running" for c in the_runs_containers("sleepy")),
                                180, "the tool's container (labelled with the run) should be running on the worker")
        async with subscribe(cluster.dsn, "sleepy", await last_seq(cluster.dsn, "sleepy")) as recorded:
            stopped = time.monotonic()
            task.cancel()  # what the Stop button does to the run's event stream
            async for event in recorded:
                if event.type == "run_cancelled":
                    ended = time.monotonic() - stopped
                    break
        await asyncio.to_thread(_wait_for, lambda: not the_runs_containers("sleepy"), 10,
                                "the run's container should be gone")
        return {"ended": ended, "gone": time.monotonic() - stopped}

    try:
        figures = asyncio.run(run_then_stop())
    finally:
        for container in the_runs_containers("sleepy"):
            container.remove(force=True)
    print(f"\n[cluster] stop -> run_cancelled {figures['ended'] * 1000:.0f} ms, "
          f"container gone {figures['gone'] * 1000:.0f} ms")
    assert engine.store.get("sleepy").status == "cancelled"
    assert figures["ended"] < 1.0 and figures["gone"] < 1.0  # the issue: "within a second"
