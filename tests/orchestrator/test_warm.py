"""The app's warm-up steps aside for a person's run: its offline run never competes with one.

A run clicked while the warm-up still ran was 1.8 times slower to its first token than one clicked
after it: both ran an engine at once, sharing one interpreter. These tests count what the warm-up
did (`WarmUp.offline_run`), not how long anything took.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

import pytest
from engine_testing import of_type, workflow

from orchestrator import foreground
from orchestrator.policy import Policy
from orchestrator.warm import warm_run_path
from testkit.replies import Reply

ONE_STEP = """
    version: 1
    name: person
    agents: {w: {role: Writer}}
    steps:
      - {id: s, type: agent, agent: w, prompt: Say hello.}
"""


def test_with_nobody_running_the_warm_up_does_its_offline_run_and_counts_no_person_run() -> None:
    before = foreground.begun()
    assert warm_run_path().offline_run == "done"
    assert foreground.begun() == before


def test_a_warm_up_reaching_its_offline_run_while_a_person_runs_skips_it(llm_server, llm_client,
                                                                          make_engine) -> None:
    llm_server.set_default(lambda _request: Reply(text="hello", latency=1.0))
    engine = make_engine(llm_client, policy=Policy(default_model="openai/gpt-4o-mini"))

    async def person_runs_while_the_app_warms_up() -> tuple[str, list]:
        events, warm = [], None
        async for event in engine.run(workflow(ONE_STEP), {}):
            events.append(event)
            if event.type == "step_started":  # the model is answering (for a second)
                warm = await asyncio.to_thread(warm_run_path)
                assert foreground.active() == 1
        assert warm is not None
        return warm.offline_run, events

    offline, events = asyncio.run(person_runs_while_the_app_warms_up())
    assert offline == "skipped"
    assert of_type(events, "run_finished")[0].output == "hello"
    assert foreground.active() == 0


def test_a_person_run_starting_during_the_offline_run_cancels_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  make_engine) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the warm-up's throwaway engine lives
    monkeypatch.setenv("GRAPHWRIGHT_OFFLINE_TOKEN_DELAY", "0.2")  # its offline run lasts seconds
    result = {}
    warming = threading.Thread(target=lambda: result.setdefault("warm", warm_run_path()))
    warming.start()
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("graphwright-warm-*/runs.sqlite")):  # its offline run has begun
        assert time.monotonic() < deadline and warming.is_alive(), "the warm-up never started its offline run"
        time.sleep(0.01)
    monkeypatch.setenv("GRAPHWRIGHT_OFFLINE_TOKEN_DELAY", "0")
    engine = make_engine(policy=Policy(default_model="offline/synthetic"))

    async def person_run() -> list:
        return [event async for event in engine.run(workflow(ONE_STEP), {})]

    events = asyncio.run(person_run())
    warming.join(60)
    assert events[-1].type == "run_finished"
    assert result["warm"].offline_run == "cancelled"
